// A request's logger, made when the request first writes a line at a level that is on.
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, LogFn } from 'pino';

/** pino's numbers for its levels: a line is written when its level is at least the logger's. */
const LEVEL_VALUES: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

type LevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/**
 * Fastify gives every request a child logger (its request id), and the guard another (who asks);
 * pino's child() passes the bindings through the redaction's wildcard paths, about 8% of a
 * recharge's CPU in the benchmark's profile. At `warn` a request that goes well writes nothing, so
 * the children are made only when a line is written, and a line below the level makes none.
 */
export function lazyChild(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return lazyLogger(() => parent.child(bindings, options), () => parent.level);
}

/** A logger made by `make` when first needed; until then at the level it would inherit. */
function lazyLogger(make: () => FastifyBaseLogger, inheritedLevel: () => string): FastifyBaseLogger {
  let made: FastifyBaseLogger | undefined;
  const real = (): FastifyBaseLogger => (made ??= make());
  const levelNow = (): string => made?.level ?? inheritedLevel();
  const line = (level: LevelName): LogFn => {
    return (...args: unknown[]) => {
      if ((LEVEL_VALUES[level] ?? 0) < (LEVEL_VALUES[levelNow()] ?? 0)) return;
      const logger = real();
      Reflect.apply(logger[level], logger, args);
    };
  };
  return {
    get level(): string {
      return levelNow();
    },
    set level(level: string) {
      real().level = level;
    },
    trace: line('trace'),
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
    fatal: line('fatal'),
    silent: () => undefined,
    child: (more: Bindings, moreOptions?: ChildLoggerOptions) => lazyLogger(() => real().child(more, moreOptions ?? {}), levelNow),
  };
}
