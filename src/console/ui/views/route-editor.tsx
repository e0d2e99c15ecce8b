import type { JSX } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError, errorText, seg } from '../api.ts';
import type { Issue, RouteGraphModel, RouteInfo, ValidateResult } from '../api-types.ts';
import { CodeEditor, gotoLine } from '../components/code-editor.tsx';
import { Link, Notice } from '../components/common.tsx';
import { RouteGraph } from '../components/route-graph.tsx';
import { issuesByNode, jsonPathLines, lineOfIssue, modelFromDefinition, normalizePath } from '../route-model.ts';
import { navigate } from '../router.ts';

type Mode = 'json' | 'ts';

const JSON_TEMPLATE = `{
  "id": "my-route",
  "from": "queue:in",
  "steps": [
    { "setHeader": { "name": "seen", "value": true } },
    { "to": "queue:out" }
  ]
}
`;

const TS_TEMPLATE = `import { route } from 'junction';

export default route('my-route')
  .from('queue:in')
  .setHeader('seen', true)
  .to('queue:out');
`;

/** A TypeScript issue's line, when its path names one (`source:12:5`, `line 12`). */
function tsLine(path: string): number | undefined {
  const m = /(?:line\s*|:)(\d+)(?::\d+)?$/.exec(path);
  return m === null ? undefined : Number(m[1]);
}

/**
 * Deploys a new route or a new version of one, from a JSON definition or TypeScript source. The
 * broker validates (`POST /routes/validate`, a dry run) and deploys; its issues are shown where
 * they are: on the graph node of the step their path names, in a list, and (JSON) on the line.
 */
export function RouteEditorView(props: { id?: string | undefined }): JSX.Element {
  const [mode, setMode] = useState<Mode>('json');
  const [text, setText] = useState(props.id === undefined ? JSON_TEMPLATE : '');
  const [issues, setIssues] = useState<readonly Issue[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);
  const [info, setInfo] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const textRef = useRef<HTMLTextAreaElement>(null);
  const lastGood = useRef<RouteGraphModel | undefined>(undefined);

  useEffect(() => {
    if (props.id === undefined) return;
    api<RouteInfo | { route: RouteInfo }>('GET', `/routes/${seg(props.id)}`).then(
      (r) => {
        const info = 'route' in r ? r.route : r;
        setText(`${JSON.stringify(info.definition ?? { id: props.id }, null, 2)}\n`);
      },
      (e: unknown) => setError(errorText(e)),
    );
  }, [props.id]);

  // The JSON as typed: where each path starts, parsed (or its syntax error and line), the preview graph.
  const lines = useMemo(() => (mode === 'json' ? jsonPathLines(text) : new Map<string, number>() as ReturnType<typeof jsonPathLines>), [mode, text]);
  const parsed = useMemo((): { def?: unknown; syntax?: Issue & { line?: number } } => {
    if (mode !== 'json') return {};
    try {
      return { def: JSON.parse(text) as unknown };
    } catch (e) {
      const line = lines.errorLine;
      return { syntax: { path: '', message: `JSON syntax error${line !== undefined ? ` on line ${line}` : ''}: ${(e as Error).message}`, line } };
    }
  }, [mode, text, lines]);
  // TypeScript source is only run by the broker: no preview graph (its issues are listed and marked on their lines).
  const model = useMemo((): RouteGraphModel | undefined => {
    if (mode === 'ts') return undefined;
    if (parsed.def !== undefined) lastGood.current = modelFromDefinition(parsed.def);
    return lastGood.current;
  }, [mode, parsed]);

  const byNode = useMemo(() => issuesByNode(issues, model?.nodes ?? []), [issues, model]);
  const lineOf = (i: Issue): number | undefined => (mode === 'json' ? lineOfIssue(i.path, lines) : tsLine(i.path));
  const marks = new Map<number, string>();
  for (const i of issues) {
    const l = lineOf(i);
    if (l !== undefined) marks.set(l, marks.has(l) ? `${marks.get(l)}; ${i.message}` : i.message);
  }
  if (parsed.syntax?.line !== undefined) marks.set(parsed.syntax.line, parsed.syntax.message);

  const body = (): Record<string, unknown> => (mode === 'json' ? { definition: parsed.def } : { source: text, language: 'ts' });
  const onIssues = (list: readonly Issue[]): void => {
    setIssues(list);
    setInfo(undefined);
    setError(list.length === 0 ? undefined : `${list.length} problem${list.length === 1 ? '' : 's'} found: see the marked steps and lines.`);
  };

  const validate = async (): Promise<boolean> => {
    if (parsed.syntax !== undefined) {
      onIssues([]);
      setError(parsed.syntax.message);
      return false;
    }
    try {
      const r = await api<ValidateResult>('POST', '/routes/validate', body());
      const list = r.issues;
      if (list.length > 0 || !r.valid) {
        onIssues(list.length > 0 ? list : [{ path: '', message: 'invalid route' }]);
        return false;
      }
      setIssues([]);
      setError(undefined);
      setInfo('Valid: the route compiles.');
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.issues.length > 0) onIssues(e.issues);
      else setError(errorText(e));
      return false;
    }
  };

  const deploy = async (): Promise<void> => {
    setBusy(true);
    try {
      if (!(await validate())) return;
      const id = props.id ?? (mode === 'json' ? (parsed.def as { id?: unknown } | undefined)?.id : undefined);
      const r = await api<{ id?: string; route?: RouteInfo } | RouteInfo | undefined>(props.id === undefined ? 'POST' : 'PUT', props.id === undefined ? '/routes' : `/routes/${seg(props.id)}`, body());
      const deployed = (r as { id?: unknown } | undefined)?.id ?? (r as { route?: RouteInfo } | undefined)?.route?.id ?? id;
      navigate(typeof deployed === 'string' ? `/routes/${seg(deployed)}` : '/routes');
    } catch (e) {
      if (e instanceof ApiError && e.issues.length > 0) onIssues(e.issues);
      else setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="editor-title">
      <p class="crumbs">
        <Link href="/routes">Routes</Link> /
      </p>
      <h1 id="editor-title">{props.id === undefined ? 'Deploy a route' : `Edit route ${props.id}`}</h1>
      <div class="toolbar" role="radiogroup" aria-label="Definition language">
        {(
          [
            ['json', 'JSON definition'],
            ['ts', 'TypeScript source'],
          ] as const
        ).map(([m, label]) => (
          <label key={m} class="check">
            <input
              type="radio"
              name="mode"
              checked={mode === m}
              onChange={() => {
                setMode(m);
                setIssues([]);
                if (props.id === undefined) setText(m === 'json' ? JSON_TEMPLATE : TS_TEMPLATE);
              }}
            />
            {label}
          </label>
        ))}
      </div>
      <div class="editor-layout">
        <div>
          <CodeEditor label={mode === 'json' ? 'Route definition (JSON)' : 'Route source (TypeScript)'} value={text} onInput={setText} marks={marks} textRef={textRef} />
          <div class="toolbar">
            <button type="button" disabled={busy} onClick={() => void validate()}>
              Validate
            </button>
            <button type="button" class="primary" disabled={busy} onClick={() => void deploy()}>
              Deploy
            </button>
          </div>
          <Notice error={error} info={info} />
          {issues.length > 0 && (
            <ul class="issues" aria-label="Validation issues">
              {issues.map((i, k) => {
                const line = lineOf(i);
                return (
                  <li key={k}>
                    <button type="button" class="link" disabled={line === undefined} onClick={() => line !== undefined && textRef.current !== null && gotoLine(textRef.current, line)}>
                      <code>{normalizePath(i.path) || '(route)'}</code>
                      {line !== undefined && <span class="muted"> line {line}</span>}
                    </button>{' '}
                    {i.message}
                  </li>
                );
              })}
            </ul>
          )}
        </div>
        <div>
          <h2>Graph</h2>
          {model !== undefined ? <RouteGraph title="Route preview" model={model} issues={byNode} /> : <p class="muted">{mode === 'ts' ? 'The graph of a TypeScript route is shown once it is deployed.' : 'Fix the JSON to see the graph.'}</p>}
        </div>
      </div>
    </section>
  );
}
