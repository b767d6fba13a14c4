// A writer thread that cannot start: what the event loop hears when the thread's start fails.
throw new Error('this writer thread does not start');
