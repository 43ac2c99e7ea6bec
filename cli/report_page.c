/* The frame of every gradus report page: one style sheet and one script inline (the
 * page loads nothing from anywhere), and the small pieces run and study pages share. */
#include "cli.h"
#include "report_chart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const CSS =
    ":root{--ink:#1f2328;--dim:#59636e;--line:#d0d7de;--bg:#f6f8fa}"
    "*{box-sizing:border-box}"
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
    "color:var(--ink);margin:0;background:#fff}"
    "main{max-width:1400px;margin:0 auto;padding:16px 24px 48px}"
    "h1{font-size:24px;margin:8px 0 4px}h2{font-size:19px;margin:28px 0 8px;"
    "border-bottom:1px solid var(--line);padding-bottom:4px}"
    ".status{font-size:16px;margin:4px 0 12px}.status.warn{color:#9a6700}"
    "table.facts{border-collapse:collapse;margin:8px 0}"
    "table.facts td,table.facts th{padding:3px 14px 3px 0;text-align:left;vertical-align:top}"
    "table.facts th{color:var(--dim);font-weight:500}"
    "code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--bg);"
    "padding:1px 4px;border-radius:4px}"
    ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:18px}"
    ".grid.small{grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:12px}"
    "figure.chart{margin:0;border:1px solid var(--line);border-radius:8px;padding:10px 12px}"
    "figure.chart figcaption{font-weight:600;margin-bottom:4px}"
    "figure.chart svg{width:100%;height:auto;display:block;overflow:visible}"
    "svg text{font-size:12px;fill:var(--ink)}svg .label{font-size:13px;fill:var(--dim)}"
    "svg .plotarea{fill:#fbfbfc;stroke:var(--line)}svg .grid{stroke:#e8ebef}"
    "svg polyline.mark{fill:none;stroke-width:2;stroke-linejoin:round}"
    "svg polyline.faint{stroke-width:1;opacity:.35}"
    "svg circle.hit{fill-opacity:0;stroke:none}svg circle.hit:hover{fill-opacity:.9}"
    "svg circle.dot{stroke:#fff;stroke-width:1}"
    "svg .band{fill:#2da44e;opacity:.13}svg .refline{stroke:#2da44e;stroke-dasharray:5 3}"
    "svg .warnline{stroke:#cf222e;stroke-dasharray:3 3}svg .epochline{stroke:#afb8c1;stroke-dasharray:2 3}"
    "svg .reflabel{font-size:11px;fill:var(--dim)}"
    "svg .meanline{stroke:#f28e2b;stroke-width:1.5}svg rect.cell{stroke:#fff}"
    "svg rect.mark:hover,svg rect.cell:hover{stroke:#000;stroke-width:1}"
    ".legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:13px;margin-top:4px}"
    ".legend .key{cursor:pointer;user-select:none}.legend .key.off{opacity:.35}"
    ".legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;"
    "vertical-align:-1px}"
    ".absent{border:1px dashed #d4a72c;background:#fff8c5;border-radius:8px;padding:10px 14px;margin:8px 0}"
    ".absent b{display:block}"
    ".notes li{color:#9a6700}"
    "table.list{border-collapse:collapse;width:100%;font-size:14px}"
    "table.list th,table.list td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;"
    "vertical-align:top}"
    ".v{font-weight:700;padding:1px 6px;border-radius:4px;color:#fff}"
    ".v-PASS{background:#1a7f37}.v-WARN{background:#9a6700}.v-FAIL{background:#cf222e}"
    ".v-SKIP{background:#6e7781}"
    ".figs{font-size:12px;color:var(--dim)}"
    ".picture img{image-rendering:pixelated;max-width:100%;border:1px solid var(--line)}"
    ".figure svg{max-width:100%;height:auto}"
    "#r-tip{position:fixed;display:none;pointer-events:none;background:#1f2328;color:#fff;"
    "font-size:13px;padding:5px 8px;border-radius:5px;white-space:pre;z-index:9;max-width:480px}"
    ".cbar{font-size:13px;color:var(--dim);margin-top:4px}.cbar i{display:inline-block;width:140px;"
    "height:10px;border-radius:2px;margin:0 6px;vertical-align:-1px}"
    "svg polyline.pline{fill:none;stroke-width:1.6;opacity:.75}"
    "svg polyline.pline:hover{stroke-width:3.5;opacity:1}"
    "table.list td.num{text-align:right;font-variant-numeric:tabular-nums}"
    "table.list tr.best td{background:#dafbe1}"
    ".s-diverged,.s-failed{color:#cf222e}.s-pruned{color:var(--dim)}.s-running{color:#9a6700}"
    "footer{margin-top:32px;color:var(--dim);font-size:13px}";

/* Titles become a tooltip that follows the pointer (the browser's own is slow to show and
 * stays put); a legend key hides and shows its series; each chart is marked with how many
 * data marks it has and how many the browser laid out with a size (the report's test
 * reads them from the rendered page). */
static const char *const SCRIPT =
    "(function(){var tip=document.getElementById('r-tip');"
    "document.querySelectorAll('svg title').forEach(function(t){var p=t.parentNode;"
    "if(p.classList&&(p.classList.contains('mark')||p.tagName==='rect'||p.tagName==='line')){"
    "p.setAttribute('data-tip',t.textContent);p.removeChild(t);}});"
    "document.addEventListener('mousemove',function(e){var el=e.target&&e.target.closest?"
    "e.target.closest('[data-tip]'):null;if(!el){tip.style.display='none';return;}"
    "tip.textContent=el.getAttribute('data-tip');tip.style.display='block';"
    "var x=e.clientX+14,y=e.clientY+14;if(x+tip.offsetWidth>innerWidth-4)x=e.clientX-tip.offsetWidth-10;"
    "if(y+tip.offsetHeight>innerHeight-4)y=e.clientY-tip.offsetHeight-10;"
    "tip.style.left=x+'px';tip.style.top=y+'px';});"
    "document.querySelectorAll('.legend .key').forEach(function(k){k.addEventListener('click',"
    "function(){var off=k.classList.toggle('off');var fig=k.closest('figure');"
    "fig.querySelectorAll('g[data-key=\"'+k.getAttribute('data-key')+'\"]').forEach(function(g){"
    "g.style.display=off?'none':'';});});});"
    "document.querySelectorAll('.chart').forEach(function(c){var m=c.querySelectorAll('.mark'),d=0;"
    "m.forEach(function(e){var b=e.getBBox?e.getBBox():e.getBoundingClientRect();"
    "if(b.width>0||b.height>0)d++;});"
    "c.setAttribute('data-marks',m.length);c.setAttribute('data-drawn',d);});})();";

void report_absent(sbuf *b, const char *id, const char *what, const char *how)
{
    sb_printf(b, "<div class=\"absent\" id=\"absent-%s\"><b>", id);
    sb_html(b, what);
    sb_puts(b, "</b>");
    sb_puts(b, how); /* our own text, with <code> */
    sb_puts(b, "</div>\n");
}

void report_fact(sbuf *b, const char *name, const char *value)
{
    if (!value)
        return;
    sb_puts(b, "<tr><th>");
    sb_html(b, name);
    sb_puts(b, "</th><td>");
    sb_html(b, value);
    sb_puts(b, "</td></tr>\n");
}

void report_fact_num(sbuf *b, const char *name, const char *fmt, double v)
{
    if (!isfinite(v))
        return;
    char text[64];
    snprintf(text, sizeof text, fmt, v);
    report_fact(b, name, text);
}

void report_page_open(sbuf *b, const char *title)
{
    sb_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
               "<title>gradus report: ");
    sb_html(b, title);
    sb_printf(b, "</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n", CSS);
}

void report_page_close(sbuf *b)
{
    sb_printf(b, "</main>\n<div id=\"r-tip\"></div>\n<script>%s</script>\n</body>\n</html>\n",
              SCRIPT);
}

int report_save(sbuf *b, const char *path, const char *cmd)
{
    gd_error err;
    gd_status st = GD_OK;
    int rc = EXIT_OK;
    if (b->failed)
        rc = fail(EXIT_FAILURE_RUN, cmd, "out of memory");
    else if ((st = gd_write_file_atomic(path, b->s, b->len, &err)) != GD_OK)
        rc = fail_status(cmd, st, err.message);
    free(b->s);
    *b = (sbuf){.len = b->len};
    return rc;
}
