/** The web UI's one stylesheet: system fonts, light and dark from prefers-color-scheme, readable at 360 px. */
export const STYLE = `
:root{--bg:#fff;--fg:#1b1b1b;--muted:#545454;--line:#d0d0d0;--panel:#f4f5f7;--link:#0a4fb0;--accent:#0a4fb0;--accent-fg:#fff;--ok:#17692c;--bad:#a3141d;--warn:#7a4d00;--hit:#2f7d46;--miss:#b86a00;--served:#0a4fb0;--fetched:#8a3ab9;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#141517;--fg:#e9e9ea;--muted:#b4b4b8;--line:#3b3d42;--panel:#1f2125;--link:#8cb8ff;--accent:#8cb8ff;--accent-fg:#0b1220;--ok:#6fd28a;--bad:#ff8a8f;--warn:#f0c060;--hit:#6fd28a;--miss:#f0a040;--served:#8cb8ff;--fetched:#d49cf5}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
a{color:var(--link)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,summary:focus-visible,[tabindex]:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:var(--bg);padding:.5rem}.skip:focus{left:.5rem}
header{border-bottom:1px solid var(--line);background:var(--panel)}
header nav{display:flex;flex-wrap:wrap;align-items:center;gap:.25rem 1rem;max-width:72rem;margin:0 auto;padding:.5rem 1rem}
header ul{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;margin:0;padding:0;flex:1}
header .brand{font-weight:700;text-decoration:none;color:var(--fg)}
header a[aria-current=page]{font-weight:700;text-decoration-thickness:3px}
header form{margin:0}
main{max-width:72rem;margin:0 auto;padding:1rem}
h1{font-size:1.6rem;margin:.5rem 0 1rem}h2{font-size:1.25rem;margin:1.5rem 0 .5rem}h3{font-size:1.05rem;margin:1rem 0 .25rem}
.muted{color:var(--muted)}
ul.grid,ul.inline{list-style:none;padding:0;margin:0}
.grid{display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(15rem,1fr))}
.card{border:1px solid var(--line);border-radius:.5rem;padding:.75rem 1rem;background:var(--panel)}
.card h2,.card h3{margin-top:0}
.figure{font-size:1.5rem;font-weight:700;margin:0}
figure{margin:0}
.table-wrap{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
td.path{word-break:break-all}
pre{background:var(--panel);border:1px solid var(--line);border-radius:.4rem;padding:.6rem;overflow-x:auto;white-space:pre}
.status-up,.ok{color:var(--ok)}.status-down,.bad{color:var(--bad)}.warn{color:var(--warn)}
.badge{display:inline-block;border:1px solid var(--line);border-radius:1rem;padding:0 .5rem;font-size:.85em}
form.stack{display:grid;gap:.75rem;max-width:44rem}
.field{display:grid;gap:.2rem}
.field .hint{font-size:.875em;color:var(--muted)}
.field .error{color:var(--bad);font-weight:600}
.inline{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}
.inline .field{flex:1 1 12rem}
input[type=text],input[type=password],input[type=number],input[type=search],select,textarea{font:inherit;color:var(--fg);background:var(--bg);border:1px solid var(--muted);border-radius:.3rem;padding:.35rem .5rem;width:100%}
textarea{min-height:5rem;font-family:ui-monospace,monospace;font-size:.9em}
input[aria-invalid=true],textarea[aria-invalid=true]{border-color:var(--bad);border-width:2px}
button,.button{font:inherit;cursor:pointer;border:1px solid var(--accent);background:var(--accent);color:var(--accent-fg);border-radius:.3rem;padding:.35rem .8rem;text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:transparent;color:var(--link)}
button.danger{background:var(--bad);border-color:var(--bad);color:#fff}
@media (prefers-color-scheme:dark){button.danger{color:#1b0000}}
fieldset{border:1px solid var(--line);border-radius:.4rem}
.check{display:flex;gap:.5rem;align-items:center}
.notice{border-left:4px solid var(--accent);background:var(--panel);padding:.5rem .75rem;margin:1rem 0}
.notice.error{border-color:var(--bad)}
.breadcrumb{display:flex;flex-wrap:wrap;gap:.25rem;list-style:none;padding:0;margin:0 0 .5rem}
.breadcrumb li+li::before{content:"/";margin-right:.25rem;color:var(--muted)}
.folders{columns:14rem;list-style:none;padding:0}
.pager{display:flex;gap:1rem;margin:1rem 0}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;word-break:break-all}
.chart svg{width:100%;height:auto;display:block}
.chart .legend{display:flex;gap:1rem;flex-wrap:wrap;font-size:.875em;margin:.25rem 0 0;padding:0;list-style:none}
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.3em;vertical-align:-.05em}
.s-hit{background:var(--hit)}.s-miss{background:var(--miss)}.s-served{background:var(--served)}.s-fetched{background:var(--fetched)}
.f-hit{fill:var(--hit)}.f-miss{fill:var(--miss)}.f-served{fill:var(--served)}.f-fetched{fill:var(--fetched)}.f-axis{stroke:var(--line)}.f-text{fill:var(--muted);font-size:11px}
.snippet{margin:.75rem 0}.snippet-head{display:flex;justify-content:space-between;align-items:center;gap:.5rem}
#event-list{list-style:none;padding:0;margin:0}#event-list li{border-bottom:1px solid var(--line);padding:.35rem 0;word-break:break-word}
footer{max-width:72rem;margin:2rem auto 1rem;padding:0 1rem;color:var(--muted);font-size:.875em}
[hidden]{display:none!important}
`;
