/** The selector AST the parser (parser.ts) builds and the evaluator (evaluate.ts) walks. */
import type { LikePattern } from './like.ts';

export type ArithmeticOperator = '+' | '-' | '*' | '/';
export type ComparisonOperator = '=' | '<>' | '<' | '<=' | '>' | '>=';

interface NodeBase {
  /** 0-based offset in the selector text where this expression starts. */
  readonly pos: number;
}

/**
 * The selector AST. Chains of AND, OR and same-precedence arithmetic are n-ary (flat), so the
 * tree is only as deep as the selector's explicit nesting (parentheses, NOT, unary signs), which
 * the parser bounds: walking the tree recursively can never overflow the stack.
 */
export type Expr =
  /** `approximate` is set on floating-point numeric literals (JMS 1.1 approximate numeric). */
  | (NodeBase & { readonly type: 'literal'; readonly value: string | number | boolean | null; readonly approximate?: boolean })
  | (NodeBase & { readonly type: 'identifier'; readonly name: string })
  | (NodeBase & { readonly type: 'unary'; readonly op: '+' | '-'; readonly operand: Expr })
  /** `operands[0] ops[0] operands[1] ops[1] ...`, folded left to right; one precedence level only. */
  | (NodeBase & { readonly type: 'arithmetic'; readonly operands: readonly Expr[]; readonly ops: readonly ArithmeticOperator[] })
  | (NodeBase & { readonly type: 'comparison'; readonly op: ComparisonOperator; readonly left: Expr; readonly right: Expr })
  | (NodeBase & { readonly type: 'between'; readonly negated: boolean; readonly operand: Expr; readonly low: Expr; readonly high: Expr })
  | (NodeBase & { readonly type: 'in'; readonly negated: boolean; readonly operand: Expr; readonly values: readonly (string | number)[] })
  | (NodeBase & { readonly type: 'like'; readonly negated: boolean; readonly operand: Expr; readonly pattern: LikePattern })
  | (NodeBase & { readonly type: 'isNull'; readonly negated: boolean; readonly operand: Expr })
  | (NodeBase & { readonly type: 'not'; readonly operand: Expr })
  | (NodeBase & { readonly type: 'and' | 'or'; readonly operands: readonly Expr[] });
