/* daemon.c - signal handling through a signalfd. See daemon.h. */
#include "util/daemon.h"

#include "util/log.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* The one signalfd of the process, created once in main before threads start. */
static int signal_fd = -1;

int cl_daemon_signals_init(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return signal_fd < 0 ? -1 : 0;
}

int cl_service_begin(const char *prog, const char *svc, const char *log_level)
{
	int lvl = cl_log_level_parse(log_level);
	cl_log_init(svc, lvl < 0 ? CL_LOG_INFO : (enum cl_log_level)lvl);
	if (cl_daemon_signals_init() < 0) {
		fprintf(stderr, "%s: cannot set up signal handling\n", prog);
		return -1;
	}
	return 0;
}

int cl_daemon_signal_fd(void)
{
	return signal_fd;
}

int cl_daemon_read_signal(void)
{
	struct signalfd_siginfo si;
	ssize_t n = read(signal_fd, &si, sizeof si);
	return n == (ssize_t)sizeof si ? (int)si.ssi_signo : 0;
}

void cl_daemon_wait(void)
{
	for (;;) {
		struct pollfd p = {signal_fd, POLLIN, 0};
		if (poll(&p, 1, -1) < 0)
			continue;
		int sig = cl_daemon_read_signal();
		if (sig == SIGTERM || sig == SIGINT)
			return;
	}
}
