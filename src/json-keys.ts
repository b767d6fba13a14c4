// A JSON object that names one key twice means different things to different readers: JSON.parse
// keeps the last value, a proxy or an audit tool in front of Purse may keep the first. Purse
// refuses such a body rather than pick one.

/**
 * The first key an object of this (already valid) JSON text repeats, or undefined. One pass over
 * the text; keys are compared decoded, so `"a"` and `"\u0061"` are the same key.
 */
export function repeatedKey(text: string): string | undefined {
  const objects: (Set<string> | null)[] = []; // null: an array
  let keyNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      const keys = objects.at(-1);
      if (keyNext && keys instanceof Set) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      keyNext = false;
      i = end;
    } else if (c === OPEN_BRACE) {
      objects.push(new Set());
      keyNext = true;
    } else if (c === OPEN_BRACKET) {
      objects.push(null);
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      objects.pop();
    } else if (c === COMMA) {
      keyNext = objects.at(-1) instanceof Set;
    }
  }
  return undefined;
}

/** Index of the quote that closes the string opening at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length && text.charCodeAt(i) !== QUOTE) i += text.charCodeAt(i) === BACKSLASH ? 2 : 1;
  return i;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
