// Purse's version, as the API document and the command line show it.
export const VERSION = '0.1.0';
