/** Whether a process still exists: process.kill(pid, 0) throws ESRCH once it is gone (a zombie still exists). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
