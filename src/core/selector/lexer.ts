import { SelectorError } from '../../errors.ts';

/** Reserved words of the selector grammar; matched case-insensitively (JMS 1.1 §3.8.1.1). */
export type Keyword = 'NULL' | 'TRUE' | 'FALSE' | 'NOT' | 'AND' | 'OR' | 'BETWEEN' | 'LIKE' | 'IN' | 'IS' | 'ESCAPE';

export type Punctuator = '=' | '<>' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/' | '(' | ')' | ',';

interface TokenBase {
  /** 0-based offset of the first character of the token in the selector text. */
  readonly pos: number;
  /** Offset just past the token. */
  readonly end: number;
}

export type Token =
  | (TokenBase & { readonly kind: 'string'; readonly value: string })
  /** `approximate`: a floating-point literal (JMS 1.1 approximate numeric: `7.`, `1.5E1`); else exact (`7`, `0x7`, `07`, `7L`). */
  | (TokenBase & { readonly kind: 'number'; readonly value: number; readonly approximate: boolean })
  | (TokenBase & { readonly kind: 'identifier'; readonly name: string })
  | (TokenBase & { readonly kind: 'keyword'; readonly keyword: Keyword })
  | (TokenBase & { readonly kind: 'punct'; readonly punct: Punctuator })
  | (TokenBase & { readonly kind: 'eof' });

const KEYWORDS: ReadonlySet<string> = new Set<Keyword>([
  'NULL', 'TRUE', 'FALSE', 'NOT', 'AND', 'OR', 'BETWEEN', 'LIKE', 'IN', 'IS', 'ESCAPE',
]);

// Java identifier characters (Character.isJavaIdentifierStart/Part, minus the ignorable controls).
// ActiveMQ Classic also accepts '.' inside identifiers ("my.prop"); so do we: it cannot clash with
// a numeric literal because an identifier never starts with a digit or a dot.
const IDENTIFIER = /[\p{L}\p{Nl}\p{Sc}\p{Pc}][\p{L}\p{Nl}\p{Sc}\p{Pc}\p{Nd}\p{Mn}\p{Mc}.]*/uy;
const IDENTIFIER_PART = /[\p{L}\p{Nl}\p{Sc}\p{Pc}\p{Nd}\p{Mn}\p{Mc}.]/uy;
// Java numeric literals as ActiveMQ's grammar accepts them. Order matters: hex, then float, then integer.
const HEX = /0[xX]([0-9a-fA-F]+)[lL]?/y;
const FLOAT = /(?:\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)/y;
const INTEGER = /(\d+)[lL]?/y;

const WHITESPACE = new Set([' ', '\t', '\n', '\r', '\f']);

function matchAt(re: RegExp, text: string, pos: number): RegExpExecArray | null {
  re.lastIndex = pos;
  return re.exec(text);
}

/** Text of a token as it appears in the selector, shortened for error messages. */
export function describeToken(text: string, token: Token): string {
  if (token.kind === 'eof') return 'end of selector';
  const raw = text.slice(token.pos, token.end);
  return `'${raw.length > 24 ? `${raw.slice(0, 21)}...` : raw}'`;
}

/**
 * Splits selector text into tokens; the last token is always `eof`.
 * Throws {@link SelectorError} (ERR_SELECTOR_SYNTAX) at the offending character.
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  const length = text.length;
  while (pos < length) {
    const ch = text[pos] as string;
    if (WHITESPACE.has(ch)) {
      pos++;
      continue;
    }
    const start = pos;
    if (ch === "'") {
      // JMS 1.1: a string literal is enclosed in single quotes; '' stands for one quote.
      let value = '';
      let from = pos + 1;
      for (;;) {
        const quote = text.indexOf("'", from);
        if (quote < 0) throw new SelectorError('Unterminated string literal', start);
        value += text.slice(from, quote);
        if (text[quote + 1] === "'") {
          value += "'";
          from = quote + 2;
        } else {
          pos = quote + 1;
          break;
        }
      }
      tokens.push({ kind: 'string', value, pos: start, end: pos });
      continue;
    }
    if ((ch >= '0' && ch <= '9') || (ch === '.' && isDigit(text[pos + 1]))) {
      const { value, end, approximate } = readNumber(text, pos);
      tokens.push({ kind: 'number', value, approximate, pos: start, end });
      pos = end;
      continue;
    }
    const word = matchAt(IDENTIFIER, text, pos);
    if (word) {
      const name = word[0];
      pos += name.length;
      const upper = name.toUpperCase();
      if (KEYWORDS.has(upper)) tokens.push({ kind: 'keyword', keyword: upper as Keyword, pos: start, end: pos });
      else tokens.push({ kind: 'identifier', name, pos: start, end: pos });
      continue;
    }
    const punct = readPunctuator(text, pos);
    if (punct === undefined) {
      const cp = text.codePointAt(pos) as number;
      throw new SelectorError(`Unexpected character '${String.fromCodePoint(cp)}'`, pos);
    }
    pos += punct.length;
    tokens.push({ kind: 'punct', punct, pos: start, end: pos });
  }
  tokens.push({ kind: 'eof', pos: length, end: length });
  return tokens;
}

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

function readNumber(text: string, pos: number): { value: number; end: number; approximate: boolean } {
  let value: number;
  let end: number;
  const hex = matchAt(HEX, text, pos);
  const float = hex ? null : matchAt(FLOAT, text, pos);
  if (hex) {
    value = Number.parseInt(hex[1] as string, 16);
    end = pos + hex[0].length;
  } else if (float) {
    value = Number(float[0]);
    end = pos + float[0].length;
  } else {
    const int = matchAt(INTEGER, text, pos) as RegExpExecArray;
    const digits = int[1] as string;
    end = pos + int[0].length;
    if (digits.length > 1 && digits[0] === '0') {
      // Java: an integer literal with a leading zero is octal.
      if (!/^[0-7]+$/.test(digits)) throw new SelectorError(`Invalid octal literal '${digits}'`, pos);
      value = Number.parseInt(digits, 8);
    } else {
      value = Number(digits);
    }
  }
  // "1e", "0x", "12abc", "1.2.3": a literal must not run straight into a word or another dot.
  if (matchAt(IDENTIFIER_PART, text, end)) {
    throw new SelectorError(`Invalid numeric literal '${text.slice(pos, end + 1)}'`, pos);
  }
  return { value, end, approximate: float !== null };
}

function readPunctuator(text: string, pos: number): Punctuator | undefined {
  const ch = text[pos];
  const next = text[pos + 1];
  switch (ch) {
    case '<':
      if (next === '>') return '<>';
      if (next === '=') return '<=';
      return '<';
    case '>':
      return next === '=' ? '>=' : '>';
    case '=':
    case '+':
    case '-':
    case '*':
    case '/':
    case '(':
    case ')':
    case ',':
      return ch;
    default:
      return undefined;
  }
}
