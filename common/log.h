/* log.h: the one logger. Lines go to stderr as
 *   2026-11-26T10:00:00.123Z INFO  [slot=cleave lsn=0/16B3748] message
 * The context string is built by the caller (see log_ctx helpers in callers); it never holds a password. */
#ifndef CLEAVE_LOG_H
#define CLEAVE_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Parses "error" | "warn" | "info" | "debug". Returns 0, or -1 for anything else. */
int log_level_parse(const char *s, enum log_level *out);

/* ctx may be NULL. Thread-safe (one write(2) per line). */
void log_msg(enum log_level level, const char *ctx, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_error(ctx, ...) log_msg(LOG_ERROR, ctx, __VA_ARGS__)
#define log_warn(ctx, ...) log_msg(LOG_WARN, ctx, __VA_ARGS__)
#define log_info(ctx, ...) log_msg(LOG_INFO, ctx, __VA_ARGS__)
#define log_debug(ctx, ...) \
	do { \
		if (log_get_level() >= LOG_DEBUG) \
			log_msg(LOG_DEBUG, ctx, __VA_ARGS__); \
	} while (0)

#endif
