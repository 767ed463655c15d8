/* proc.c: see proc.h. */
#include "tests/support/proc.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "tests/support/testenv.h"

struct proc {
	pid_t pid;
	bool reaped;
	int status;     /* proc_wait's encoding, once reaped */
	long mark;      /* proc_poll_log searches from this log offset */
	char *log_path;
};

/* Builds environ + additions (an addition replaces a variable of the same name). The strings are not
 * copied; the array is malloc'ed. */
static char **proc_build_env(const char *const env[])
{
	size_t nenv = 0, nadd = 0, n = 0, i, j;
	char **out;

	while (environ[nenv])
		nenv++;
	while (env && env[nadd])
		nadd++;
	out = calloc(nenv + nadd + 1, sizeof *out);
	if (!out)
		fail_msg("proc: out of memory");
	for (i = 0; i < nenv; i++) {
		size_t klen = strcspn(environ[i], "=");
		bool replaced = false;

		for (j = 0; j < nadd && !replaced; j++)
			replaced = strncmp(env[j], environ[i], klen) == 0 && env[j][klen] == '=';
		if (!replaced)
			out[n++] = environ[i];
	}
	for (j = 0; j < nadd; j++) {
		if (!strchr(env[j], '='))
			fail_msg("proc: environment addition \"%s\" is not NAME=VALUE", env[j]);
		out[n++] = (char *)env[j];
	}
	out[n] = NULL;
	return out;
}

/* In the child, after fork: only async-signal-safe calls. */
static void proc_child(pid_t parent, int logfd, const char *const argv[], char **envp)
{
	static const char msg[] = "proc: could not execute the program (errno ";
	char num[16];
	int devnull, e, n = 0;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	devnull = open("/dev/null", O_RDONLY);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
		_exit(127);
	/* The test may block signals or ignore some; the program under test starts with defaults. */
	{
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
	}
	execvpe(argv[0], (char *const *)argv, envp);
	/* strerror is not async-signal-safe: print the number */
	e = errno;
	do
		num[sizeof num - 1 - ++n] = (char)('0' + e % 10);
	while ((e /= 10) && n < (int)sizeof num - 2);
	(void)!write(2, msg, sizeof msg - 1);
	(void)!write(2, num + sizeof num - 1 - n, (size_t)n);
	(void)!write(2, "): ", 3);
	(void)!write(2, argv[0], strlen(argv[0]));
	(void)!write(2, "\n", 1);
	_exit(127);
}

struct proc *proc_spawn(const char *name, const char *const argv[], const char *const env[])
{
	const char *logdir, *path;
	struct proc *p;
	char **envp;
	pid_t parent = getpid();
	int logfd;

	if (!argv || !argv[0])
		fail_msg("proc_spawn(%s): empty argv", name);
	logdir = testenv_fmt("%s/logs", testenv_rundir());
	if (mkdir(logdir, 0755) < 0 && errno != EEXIST)
		fail_msg("proc_spawn: mkdir %s: %s", logdir, strerror(errno));
	path = testenv_fmt("%s/%s.log", logdir, testenv_unique(name));
	logfd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0)
		fail_msg("proc_spawn: open %s: %s", path, strerror(errno));
	p = calloc(1, sizeof *p);
	envp = proc_build_env(env);
	if (!p || !(p->log_path = strdup(path))) {
		close(logfd);
		fail_msg("proc: out of memory");
	}
	fflush(NULL); /* do not let the child inherit buffered output */
	p->pid = fork();
	if (p->pid == 0)
		proc_child(parent, logfd, argv, envp);
	free(envp);
	close(logfd);
	if (p->pid < 0) {
		int e = errno;

		free(p->log_path);
		free(p);
		fail_msg("proc_spawn(%s): fork: %s", argv[0], strerror(e));
	}
	return p;
}

pid_t proc_pid(const struct proc *p)
{
	return p->pid;
}

const char *proc_log_path(const struct proc *p)
{
	return p->log_path;
}

void proc_kill(struct proc *p, int sig)
{
	if (!p->reaped)
		kill(p->pid, sig);
}

/* Reaps the child if it has exited. Returns true when it is reaped. */
static bool proc_reap(struct proc *p)
{
	int st;
	pid_t r;

	if (p->reaped)
		return true;
	do
		r = waitpid(p->pid, &st, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return false;
	if (r < 0) {
		/* ECHILD: someone else reaped it; we cannot know how it ended */
		p->status = 255;
	} else if (WIFEXITED(st)) {
		p->status = WEXITSTATUS(st);
	} else if (WIFSIGNALED(st)) {
		p->status = 128 + WTERMSIG(st);
	} else {
		return false; /* stopped or continued: still there */
	}
	p->reaped = true;
	return true;
}

static bool proc_reap_cb(void *arg)
{
	return proc_reap(arg);
}

int proc_wait(struct proc *p, int timeout_ms)
{
	if (!poll_until(proc_reap_cb, p, timeout_ms))
		return -1;
	return p->status;
}

int proc_stop(struct proc *p, int timeout_ms)
{
	int st;

	proc_kill(p, SIGTERM);
	st = proc_wait(p, timeout_ms);
	if (st >= 0)
		return st;
	proc_kill(p, SIGKILL);
	return proc_wait(p, 10000) >= 0 ? p->status : 128 + SIGKILL;
}

/* Reads the log from offset `from` into a malloc'ed NUL-terminated string. Returns NULL when the log
 * cannot be read. */
static char *proc_read_log(const char *path, long from, long *end)
{
	FILE *f = fopen(path, "rb");
	char *s = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0)
		goto cleanup;
	if (from > len)
		from = len;
	if (fseek(f, from, SEEK_SET) < 0)
		goto cleanup;
	s = malloc((size_t)(len - from) + 1);
	if (!s)
		goto cleanup;
	len = from + (long)fread(s, 1, (size_t)(len - from), f);
	s[len - from] = '\0';
	if (end)
		*end = len;
cleanup:
	fclose(f);
	return s;
}

struct proc_logwait {
	struct proc *p;
	const char *substring;
	bool exited; /* the process had exited before the last read */
};

static bool proc_log_has(void *arg)
{
	struct proc_logwait *w = arg;
	bool exited = proc_reap(w->p);
	char *s = proc_read_log(w->p->log_path, w->p->mark, NULL);
	bool found = s && strstr(s, w->substring);

	free(s);
	w->exited = exited;
	/* after an exit the log is complete: stop waiting either way */
	return found || exited;
}

bool proc_poll_log(struct proc *p, const char *substring, int timeout_ms)
{
	struct proc_logwait w = {p, substring, false};
	char *s;
	bool found;

	if (!poll_until(proc_log_has, &w, timeout_ms))
		return false;
	s = proc_read_log(p->log_path, p->mark, NULL);
	found = s && strstr(s, substring);
	free(s);
	return found;
}

void proc_log_mark(struct proc *p)
{
	long end = p->mark;
	char *s = proc_read_log(p->log_path, p->mark, &end);

	free(s);
	p->mark = end;
}

void proc_print_log(const struct proc *p, int lines)
{
	char *s = proc_read_log(p->log_path, 0, NULL);
	const char *start;
	size_t len;
	int n = 0;

	if (!s) {
		print_error("(cannot read %s)\n", p->log_path);
		return;
	}
	len = strlen(s);
	start = s + len;
	/* step back over `lines` line ends, not counting a final one */
	if (start > s && start[-1] == '\n')
		start--;
	while (start > s && n < lines) {
		start--;
		if (*start == '\n' && ++n == lines) {
			start++;
			break;
		}
	}
	print_error("---- last %d lines of %s ----\n%s%s---- end of %s ----\n", lines, p->log_path, start,
	            len && s[len - 1] != '\n' ? "\n" : "", p->log_path);
	free(s);
}

int proc_run(const char *name, const char *const argv[], const char *const env[], int timeout_ms,
             const char **log_out)
{
	struct proc *p = proc_spawn(name, argv, env);
	int st = proc_wait(p, timeout_ms);

	if (log_out)
		*log_out = testenv_fmt("%s", p->log_path);
	if (st < 0)
		proc_stop(p, 1000);
	proc_free(p);
	return st;
}

void proc_free(struct proc *p)
{
	if (!p)
		return;
	if (!proc_reap(p)) {
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	free(p->log_path);
	free(p);
}
