/* daemon.h - process lifecycle shared by every service: SIGTERM/SIGINT handling.
 *
 * cl_daemon_signals_init() blocks SIGTERM, SIGINT and SIGHUP in the calling thread (call it
 * first in main, before any thread is created, so every thread inherits the mask) and ignores
 * SIGPIPE. The main thread then either waits in cl_daemon_wait() or polls the file
 * descriptor from cl_daemon_signal_fd() in its own event loop. */
#ifndef CLEMENT_UTIL_DAEMON_H
#define CLEMENT_UTIL_DAEMON_H

int cl_daemon_signals_init(void);
/* cl_service_begin - the step after cl_config_main() in every service's main(): start logging
 * as `svc` at log_level (already checked by cl_config_load) and set up the signals as
 * cl_daemon_signals_init() does. Returns 0, or -1 after printing "prog: why" on stderr. */
int cl_service_begin(const char *prog, const char *svc, const char *log_level);
/* cl_daemon_signal_fd - a signalfd that becomes readable on SIGTERM/SIGINT/SIGHUP. */
int cl_daemon_signal_fd(void);
/* cl_daemon_read_signal - read one pending signal from the fd; returns its number or 0. */
int cl_daemon_read_signal(void);
/* cl_daemon_wait - block until SIGTERM or SIGINT (SIGHUP is ignored here). */
void cl_daemon_wait(void);

#endif
