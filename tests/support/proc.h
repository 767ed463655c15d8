/* proc.h: child processes for tests (the cleave binary under test, pg_ctl, the mariadb client...).
 * A child's stdout and stderr go to its own log file in the run directory ($CLEAVE_TEST_RUNDIR/logs), so
 * a test can wait for a line there and print the log when it fails; tests/run.sh lists those logs on
 * failure and CLEAVE_KEEP_RUNDIR=1 keeps them.
 *
 * A child gets SIGKILL if the test program dies (PR_SET_PDEATHSIG), so a crashed or timed-out test leaves
 * nothing running. It stays in the test's process group. Not thread-safe; spawn and wait from the test's
 * own thread (the death signal follows the thread that spawned). */
#ifndef CLEAVE_PROC_H
#define CLEAVE_PROC_H

#include <stdbool.h>
#include <sys/types.h>

struct proc;

/* Starts argv[0] (searched in PATH when it has no '/') with arguments argv (NULL-terminated) and the
 * test's environment plus env (NULL or NULL-terminated "NAME=VALUE" strings, replacing variables of the
 * same name). `name` names the log file: logs/<name>_<pid>_<time>_<n>.log. stdin is /dev/null. Fails the
 * test when the process cannot be started; a program that cannot be executed exits 127 with the reason in
 * its log. The caller owns the result: proc_free(). */
struct proc *proc_spawn(const char *name, const char *const argv[], const char *const env[]);

pid_t proc_pid(const struct proc *p);
const char *proc_log_path(const struct proc *p);

/* Sends sig to the process if it has not been reaped yet. */
void proc_kill(struct proc *p, int sig);

/* Waits up to timeout_ms for the process to exit. Returns its exit status (0..255), 128 + N when signal N
 * killed it, or -1 when it is still running at the deadline. Once it has exited, returns the same status
 * on every call. */
int proc_wait(struct proc *p, int timeout_ms);

/* SIGTERM, then proc_wait(timeout_ms), then SIGKILL if it is still running. Returns the status as
 * proc_wait does (never -1). */
int proc_stop(struct proc *p, int timeout_ms);

/* Waits until the log contains `substring` (searching from the mark, see proc_log_mark), up to timeout_ms
 * (0: look once). Returns true when found; false on timeout or when the process has exited without
 * writing it (no point in waiting further). */
bool proc_poll_log(struct proc *p, const char *substring, int timeout_ms);

/* Moves the mark to the current end of the log: later proc_poll_log calls only see what comes after
 * (e.g. to wait for a second "ready" after a restart of the server the process talks to). */
void proc_log_mark(struct proc *p);

/* Prints the last `lines` lines of the log to stderr, with the log's path. For failure diagnostics. */
void proc_print_log(const struct proc *p, int lines);

/* Spawns, waits up to timeout_ms and returns the status (proc_wait's values; the process is killed
 * and -1 returned on timeout). The log stays in the run directory; when log_out is not NULL it receives a
 * testenv-owned copy of the log's path. */
int proc_run(const char *name, const char *const argv[], const char *const env[], int timeout_ms,
             const char **log_out);

/* Kills (SIGKILL) and reaps the process if it still runs, then frees p. proc_free(NULL) is a no-op. */
void proc_free(struct proc *p);

#endif
