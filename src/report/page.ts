/**
 * The shell of every HTML report: one self-contained page (inline CSS, inline SVG, a few lines of inline
 * script; no font, image or script fetched from anywhere, enforced by the page's own Content-Security-Policy),
 * so that it opens from disk, from a CI artifact or from a mail attachment alike.
 *
 * Pages are pure functions of a report: the same report gives the same page byte for byte (merged shards give
 * the page of the unsplit run). So nothing here reads the clock or the environment.
 */

/** Escapes text for HTML element content and double-quoted attributes. */
export function esc(text: unknown): string {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Milliseconds for a person: `812 ms`, `3.4 s`, `2 min 05 s`. */
export function humanMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** `1 point`, `3 points`. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** A tone of a badge, a card or a grid cell. */
export type Tone = 'pass' | 'fail' | 'error' | 'idle' | 'info';

/** One figure in the row of cards under the header. */
export interface Card {
  label: string;
  value: string | number;
  tone?: Tone;
  /** A line under the value. */
  note?: string;
}

/** The row of figure cards. */
export function cards(items: readonly Card[]): string {
  return `<div class="cards">${items
    .map(
      (c) =>
        `<div class="card${c.tone ? ` tone-${c.tone}` : ''}" data-card="${esc(c.label)}"><div class="v${String(c.value).length > 9 ? ' long' : ''}">${esc(c.value)}</div><div class="l">${esc(c.label)}</div>${c.note ? `<div class="n">${esc(c.note)}</div>` : ''}</div>`,
    )
    .join('')}</div>`;
}

/** A small coloured word: PASS, FAIL, ERROR. */
export function badge(text: string, tone: Tone): string {
  return `<span class="badge tone-${tone}">${esc(text)}</span>`;
}

/** A command line to copy: preformatted, with a copy button. */
export function commandBlock(command: string, label = 'copy'): string {
  return `<div class="cmd"><pre class="command">${esc(command)}</pre><button type="button" class="copy" data-copy>${esc(label)}</button></div>`;
}

/** Output of a program: preformatted, `(no output)` when empty. */
export function outputBlock(text: string, className = 'output'): string {
  return text === '' ? '<p class="muted">(no output)</p>' : `<pre class="${className}">${esc(text)}</pre>`;
}

/** A table from a header and rows of already-escaped cells (`rowAttributes[i]`: attributes of row i's tr). */
export function table(header: readonly string[], rows: readonly (readonly string[])[], className = '', rowAttributes: readonly string[] = []): string {
  return `<table${className ? ` class="${className}"` : ''}><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r, i) => `<tr${rowAttributes[i] ? ` ${rowAttributes[i]}` : ''}>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

/** What a page is made of. */
export interface PageParts {
  /** The document title (the browser tab). */
  title: string;
  /** What kind of report: `Crash sweep`, `Scenario catalogue`, `Topology`. */
  kind: string;
  /** The big line of the header. */
  heading: string;
  /** Lines under it (commands: shown monospaced). */
  subtitle?: readonly string[];
  /** The verdict line: a sentence and its tone. */
  verdict: { text: string; tone: Tone };
  /** The main content (HTML). */
  body: string;
}

const CSS = `
:root{--fg:#1d232a;--muted:#5f6b76;--bg:#f4f6f8;--card:#fff;--line:#dde2e7;--code:#f1f3f5;
--pass:#2b9348;--pass-bg:#e6f4ea;--fail:#d62828;--fail-bg:#fdecea;--error:#e8850c;--error-bg:#fff3e0;--idle:#d5dbe1;--info:#1c6dd0}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;color:var(--fg);background:var(--bg)}
code,pre,.mono{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12.5px}
header.top{background:#18202a;color:#fff;padding:20px 0 18px}
.wrap{max-width:1200px;margin:0 auto;padding:0 28px}
header .kind{text-transform:uppercase;letter-spacing:.09em;font-size:11px;color:#9aa7b4;font-weight:600}
header h1{margin:3px 0 6px;font-size:22px;font-weight:600;word-break:break-word}
header .sub{color:#c8d1da;font-size:12.5px;margin:2px 0;word-break:break-all}
.verdict{display:inline-block;margin-top:10px;padding:5px 12px;border-radius:16px;font-weight:600;font-size:13.5px}
.verdict.tone-pass{background:var(--pass);color:#fff}.verdict.tone-fail{background:var(--fail);color:#fff}
.verdict.tone-error{background:var(--error);color:#fff}.verdict.tone-info,.verdict.tone-idle{background:#3b4a5a;color:#fff}
main{padding:18px 0 48px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(128px,1fr));gap:10px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 14px;border-top:3px solid var(--line)}
.card .v{font-size:22px;font-weight:650;font-variant-numeric:tabular-nums;word-break:break-all}
.card .v.long{font-size:17px;line-height:1.7}.card .l{color:var(--muted);font-size:12px}.card .n{color:var(--muted);font-size:11.5px;margin-top:2px}
.card.tone-pass{border-top-color:var(--pass)}.card.tone-fail{border-top-color:var(--fail)}.card.tone-fail .v{color:var(--fail)}
.card.tone-error{border-top-color:var(--error)}.card.tone-info{border-top-color:var(--info)}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin-top:16px}
section>h2{font-size:15px;margin:0 0 4px}section>.hint{color:var(--muted);font-size:12.5px;margin:0 0 12px}
.muted{color:var(--muted)}
pre{background:var(--code);padding:9px 12px;border-radius:6px;overflow:auto;white-space:pre-wrap;word-break:break-all;margin:6px 0;max-height:420px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:11.5px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.04em}
td.num,th.num{text-align:right}
table.runs td:not(:last-child),table.services td,table.windows td{white-space:nowrap}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:11.5px;font-weight:700;letter-spacing:.03em;color:#fff}
.badge.tone-pass{background:var(--pass)}.badge.tone-fail{background:var(--fail)}.badge.tone-error{background:var(--error)}
.badge.tone-idle{background:#8a96a3}.badge.tone-info{background:var(--info)}
details.item{border:1px solid var(--line);border-left:4px solid var(--fail);border-radius:6px;margin:8px 0;background:#fff}
details.item.tone-error{border-left-color:var(--error)}details.item.tone-pass{border-left-color:var(--pass)}
details.item>summary{cursor:pointer;padding:8px 12px;display:flex;gap:12px;align-items:baseline;flex-wrap:wrap}
details.item>summary::marker{color:var(--muted)}
details.item>summary .what{font-weight:600}details.item>summary .why{color:var(--muted);flex:1;min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
details.item[open]>summary{border-bottom:1px solid var(--line);background:#fafbfc}
details.item:target{box-shadow:0 0 0 3px rgba(28,109,208,.35)}
.body{padding:8px 14px 12px}.body h3{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);margin:12px 0 4px}
.cmd{position:relative}.cmd pre{padding-right:64px}
button.copy{position:absolute;top:6px;right:6px;border:1px solid var(--line);background:#fff;border-radius:5px;font-size:11.5px;padding:2px 8px;cursor:pointer}
.legend{display:flex;gap:16px;flex-wrap:wrap;font-size:12.5px;color:var(--muted);margin:8px 0 0}
.legend i{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:5px;vertical-align:-1px}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif}
svg a:hover rect{stroke:#18202a;stroke-width:2}
.kv ul{margin:0;padding-left:16px}.explanation{background:#fff7e6;border-left:3px solid #e8a20c;padding:8px 12px;border-radius:4px;margin:4px 0}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:4px 0}.kv dt{color:var(--muted)}.kv dd{margin:0;word-break:break-all}
.diff td.exp{color:var(--pass)}.diff td.got{color:var(--fail)}
tr.row-fail td:first-child{box-shadow:inset 3px 0 var(--fail)}tr.row-error td:first-child{box-shadow:inset 3px 0 var(--error)}
footer{color:var(--muted);font-size:12px;margin-top:22px}
`;

/** Opens the failure a link or the address names, and copies command lines. */
const SCRIPT = `
function openTarget(){var id=decodeURIComponent(location.hash.slice(1));var el=id&&document.getElementById(id);
if(el&&el.tagName==='DETAILS'){el.open=true;el.scrollIntoView({block:'start'});}}
window.addEventListener('hashchange',openTarget);openTarget();
document.addEventListener('click',function(e){var b=e.target.closest&&e.target.closest('[data-copy]');if(!b)return;
var text=b.parentNode.querySelector('pre').textContent;var done=function(){b.textContent='copied';setTimeout(function(){b.textContent='copy';},1200);};
if(navigator.clipboard&&window.isSecureContext){navigator.clipboard.writeText(text).then(done,function(){});}
else{var r=document.createRange();r.selectNodeContents(b.parentNode.querySelector('pre'));var s=getSelection();s.removeAllRanges();s.addRange(r);
try{document.execCommand('copy');done();}catch(_){}}});
`;

/** The whole page. */
export function htmlPage(parts: PageParts): string {
  const csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="sysfault">
<title>${esc(parts.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header class="top"><div class="wrap">
<div class="kind">sysfault · ${esc(parts.kind)}</div>
<h1>${esc(parts.heading)}</h1>
${(parts.subtitle ?? []).map((line) => `<div class="sub mono">${esc(line)}</div>`).join('\n')}
<div class="verdict tone-${parts.verdict.tone}" id="verdict">${esc(parts.verdict.text)}</div>
</div></header>
<main><div class="wrap">
${parts.body}
<footer>Made by sysfault from its JSON report; this page fetches nothing and opens from disk.</footer>
</div></main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
