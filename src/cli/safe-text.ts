/**
 * Recorded and user-given text made safe for where the CLI writes it. Routine, slot and event
 * names and recorded strings are data: they must never move a terminal's cursor, recolour it or
 * rewrite what it shows (control characters, ANSI escapes, bidi overrides), and never add
 * statements to a Mermaid or Graphviz diagram (quotes, brackets, newlines, `click … javascript:`).
 */

/** Characters a terminal acts on: C0 (tabs and newlines too: output is one line per record), DEL, C1, bidi controls. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const kTerminalControls = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** What JSON.stringify leaves raw that a terminal would still act on (C0 it escapes itself). */
const kJsonControls = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const hex = (c: string, width: number): string => c.charCodeAt(0).toString(16).padStart(width, '0');

/**
 * Text for a terminal: every control character becomes a visible escape (`\x1b`, `\u202e`).
 *
 * @example
 * ```ts
 * terminalSafe('ok\x1b[2J'); // 'ok\\x1b[2J' — shown, not obeyed
 * ```
 */
export function terminalSafe(text: string): string {
  return text.replace(kTerminalControls, (c) => (c.charCodeAt(0) <= 0xff ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

/**
 * A JSON line for a terminal: the same JSON value, with the characters JSON.stringify leaves
 * raw (DEL, C1, line separators, bidi controls) written as `\u009b`-style escapes.
 *
 * @example
 * ```ts
 * jsonTerminalSafe(JSON.stringify({ topic: 'x\u009b31m' })); // '{"topic":"x\\u009b31m"}'
 * ```
 */
export function jsonTerminalSafe(json: string): string {
  return json.replace(kJsonControls, (c) => `\\u${hex(c, 4)}`);
}

/**
 * Text inside a quoted Mermaid label: everything but plain letters, digits, spaces and a few
 * punctuation marks becomes an entity code (`#34;`), so a name cannot close its quotes, open a
 * new statement or carry markup.
 *
 * @example
 * ```ts
 * mermaidLabel('a"]\nclick a href "javascript:alert(1)"'); // 'a#34;#93;#10;click a href #34;javascript#58;alert#40;1#41;#34;'
 * ```
 */
export function mermaidLabel(text: string): string {
  return text.replace(/[^A-Za-z0-9 _.\-·→]/g, (c) => `#${c.codePointAt(0)};`);
}

/**
 * Text inside a double-quoted Graphviz string: backslashes and quotes escaped, line breaks and
 * other control characters written as visible escapes, so a name cannot end the string.
 *
 * @example
 * ```ts
 * dotString('a" -> evil [label="x'); // 'a\\" -> evil [label=\\"x'
 * ```
 */
export function dotString(text: string): string {
  return terminalSafe(text).replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}
