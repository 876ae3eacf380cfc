//! The ClassTracker HTML report: one self-contained file (inline CSS and SVG charts, no
//! scripts, nothing fetched from the network) with the snapshots, a memory-over-time
//! chart and an instances-alive chart per class, the per-snapshot class figures, merged
//! referent sizes, and the lifetime table of each class's instances; in pympler's
//! layout ([`render_pages`]) also a page per class, linked from the report.

use crate::classtracker::axis::{self, duration_text};
use crate::classtracker::log::{ClassRow, Log, TreeNode};
use std::fmt::Write;

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}\
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}h3{margin-top:1.6em}\
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}\
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}\
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.meta{color:#666}.legend span{display:inline-block;margin-right:1.2em}\
.sw{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:-.1em}\
details pre{margin:.3em 0;font-size:.85em;white-space:pre-wrap}\
svg{background:#fcfcfc;border:1px solid #eee}svg text{font-size:11px;fill:#444}\
.chart{display:inline-block;margin-right:1em;vertical-align:top}\
ul.tree{margin:.2em 0;padding-left:1.2em;font-size:.9em}\
";

const COLORS: [&str; 10] =
    ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/// Text made safe for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A byte count for people: `512 B`, `1.50 KiB`, `3.20 MiB`.
pub fn size_text(bytes: f64) -> String {
    crate::units::human_size(bytes, 2)
}

fn anchor(index: usize) -> String {
    format!("class-{index}")
}

/// One line of a chart.
struct Series<'a> {
    label: &'a str,
    color: &'a str,
    points: Vec<(f64, f64)>,
    /// Drawn as a step function (counts that change at events).
    steps: bool,
    dashed: bool,
}

/// An SVG line chart of `series`; the time axis covers `span` and every point.
fn chart(title: &str, series: &[Series<'_>], bytes: bool, span: Option<(f64, f64)>) -> String {
    const W: f64 = 520.0;
    const H: f64 = 220.0;
    const LEFT: f64 = 84.0;
    const RIGHT: f64 = 14.0;
    const TOP: f64 = 24.0;
    const BOTTOM: f64 = 34.0;
    let all = || series.iter().flat_map(|s| s.points.iter());
    let mut out = String::new();
    let _ = write!(out, "<div class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"{}\">", escape(title));
    let _ = write!(out, "<rect width=\"100%\" height=\"100%\" fill=\"#fcfcfc\"/>");
    let _ = write!(out, "<text x=\"{LEFT}\" y=\"15\" font-weight=\"bold\">{}</text>", escape(title));
    if all().next().is_none() {
        let _ = write!(out, "<text x=\"{}\" y=\"{}\">no data</text></svg></div>", W / 2.0 - 25.0, H / 2.0);
        return out;
    }
    let (lo, hi) =
        all().fold(span.unwrap_or((f64::INFINITY, f64::NEG_INFINITY)), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
    // Round ticks on both axes; the axes end at the outer ticks.
    let (x_ticks, time_unit) = axis::time_ticks(lo, hi);
    let (x0, x1) = (x_ticks.low() * time_unit.seconds(), x_ticks.high() * time_unit.seconds());
    let y_max = all().fold(0.0f64, |top, p| top.max(p.1));
    let (y_ticks, unit) = if bytes { axis::size_ticks(y_max) } else { (axis::count_ticks(y_max), 1.0) };
    let y1 = y_ticks.high() * unit;
    let sx = |x: f64| LEFT + (x - x0) / (x1 - x0) * (W - LEFT - RIGHT);
    let sy = |y: f64| H - BOTTOM - y / y1 * (H - TOP - BOTTOM);
    // Axes and ticks.
    let _ = write!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\"/><line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{}\" stroke=\"#999\"/>",
        H - BOTTOM,
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM
    );
    for i in 0..y_ticks.count {
        let y = sy(y_ticks.value(i) * unit);
        let label = if bytes { axis::size_label(&y_ticks, i, unit) } else { y_ticks.label(i) };
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#eee\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            escape(&label)
        );
    }
    for i in 0..x_ticks.count {
        let anchor = match i {
            0 => "start",
            _ if i + 1 == x_ticks.count => "end",
            _ => "middle",
        };
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
            sx(x_ticks.value(i) * time_unit.seconds()),
            H - BOTTOM + 16.0,
            escape(&axis::time_label(&x_ticks, i, time_unit))
        );
    }
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">time since start</text>",
        (LEFT + W - RIGHT) / 2.0,
        H - 4.0
    );
    for s in series {
        if s.points.is_empty() {
            continue;
        }
        let mut path = String::new();
        let mut last: Option<(f64, f64)> = None;
        for &(x, y) in &s.points {
            if let (true, Some((_, ly))) = (s.steps, last) {
                let _ = write!(path, "{:.1},{:.1} ", sx(x), sy(ly));
            }
            let _ = write!(path, "{:.1},{:.1} ", sx(x), sy(y));
            last = Some((x, y));
        }
        if s.steps {
            // Hold the last count to the end of the axis.
            if let Some((_, y)) = last {
                let _ = write!(path, "{:.1},{:.1}", sx(x1), sy(y));
            }
        }
        let dash = if s.dashed { " stroke-dasharray=\"5,3\"" } else { "" };
        let _ = write!(
            out,
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\"{dash} points=\"{}\"/>",
            s.color,
            path.trim_end()
        );
        if !s.steps && s.points.len() <= 80 {
            for &(x, y) in &s.points {
                let value = if bytes { size_text(y) } else { format!("{}", y as u64) };
                let _ = write!(
                    out,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.6\" fill=\"{}\"><title>{}: {} at {}</title></circle>",
                    sx(x),
                    sy(y),
                    s.color,
                    escape(s.label),
                    escape(&value),
                    duration_text(x)
                );
            }
        }
    }
    out.push_str("</svg>");
    if series.len() > 1 {
        out.push_str("<div class=\"legend\">");
        for s in series {
            let _ = write!(
                out,
                "<span><span class=\"sw\" style=\"background:{}\"></span>{}</span>",
                s.color,
                escape(s.label)
            );
        }
        out.push_str("</div>");
    }
    out.push_str("</div>");
    out
}

/// The memory of class `c`'s tracked instances at each snapshot (`rows[k]` being the
/// class rows of snapshot `k`).
fn class_memory<'a>(log: &Log, rows: &[Vec<ClassRow>], c: usize, label: &'a str, color: &'a str) -> Series<'a> {
    Series {
        label,
        color,
        points: log
            .snapshots
            .iter()
            .zip(rows)
            .map(|(s, r)| (s.timestamp, r.get(c).map_or(0.0, |row| row.sum as f64)))
            .collect(),
        steps: false,
        dashed: false,
    }
}

/// A size tree as nested lists, children largest first; referents under 0.1 % of the
/// root are left out.
fn tree_list(nodes: &[TreeNode]) -> String {
    let Some(root) = nodes.first() else { return String::new() };
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, node) in nodes.iter().enumerate().skip(1) {
        if let Some(parent) = node.parent {
            children[parent as usize].push(i);
        }
    }
    for list in &mut children {
        list.sort_by(|&a, &b| nodes[b].size.cmp(&nodes[a].size));
    }
    let total = root.size.max(1) as f64;
    let mut out = String::new();
    // An explicit stack: a node opens its list item, and one with children shown opens
    // a nested list that a `Close` step ends.
    enum Step {
        Open(usize),
        Close(&'static str),
    }
    let mut stack = vec![Step::Close("</ul>")];
    out.push_str("<ul class=\"tree\">");
    stack.push(Step::Open(0));
    while let Some(step) = stack.pop() {
        match step {
            Step::Close(tags) => out.push_str(tags),
            Step::Open(i) => {
                let shown: Vec<usize> =
                    children[i].iter().copied().filter(|&c| nodes[c].size as f64 * 1000.0 > total).collect();
                if i != 0 {
                    let node = &nodes[i];
                    let _ = write!(
                        out,
                        "<li>{} &mdash; {} ({:.1}%)",
                        escape(&node.name),
                        size_text(node.size as f64),
                        node.size as f64 * 100.0 / total
                    );
                    if shown.is_empty() {
                        out.push_str("</li>");
                    } else {
                        out.push_str("<ul class=\"tree\">");
                        stack.push(Step::Close("</ul></li>"));
                    }
                }
                for &c in shown.iter().rev() {
                    stack.push(Step::Open(c));
                }
            }
        }
    }
    out
}

fn trace_text(log: &Log, index: u32) -> Option<String> {
    let trace = log.traces.get(&index)?;
    let mut text = String::new();
    for frame in trace.iter() {
        let _ = writeln!(text, "{}:{} in {}", frame.file, frame.line, frame.function);
        if let Some(code) = &frame.code {
            let _ = writeln!(text, "    {}", code.trim());
        }
    }
    Some(text)
}

/// The whole report. `max_instances` bounds the rows of each class's lifetime table.
pub fn render(log: &Log, title: &str, max_instances: usize) -> String {
    render_with(log, title, max_instances, None).0
}

/// The report in pympler's file layout: the whole report as [`render`] makes it, each
/// class linked to a page of its own in the folder `folder` beside the report (whose
/// file name is `report`), and those pages as `(file name in the folder, HTML)`. File
/// names are the classes' names, made safe (letters, digits, `.`, `_` and `-`) and
/// unique.
pub fn render_pages(
    log: &Log,
    title: &str,
    max_instances: usize,
    report: &str,
    folder: &str,
) -> (String, Vec<(String, String)>) {
    render_with(log, title, max_instances, Some((report, folder)))
}

/// `page_file` of every tracked class, in the order of `tracked_classes()`.
fn page_files(log: &Log, classes: &[u32]) -> Vec<String> {
    let mut used: ahash::AHashSet<String> = ahash::AHashSet::new();
    let mut files = Vec::with_capacity(classes.len());
    for &name in classes {
        let safe: String = log.names[name as usize]
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
            // File names are at most 255 bytes on common file systems.
            .take(120)
            .collect();
        // Never a hidden or relative name (".", ".."), never empty.
        let safe = if safe.is_empty() || safe.starts_with('.') { format!("class{safe}") } else { safe };
        let mut file = format!("{safe}.html");
        let mut n = 2;
        while !used.insert(file.to_ascii_lowercase()) {
            file = format!("{safe}-{n}.html");
            n += 1;
        }
        files.push(file);
    }
    files
}

fn page_head(out: &mut String, title: &str) {
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>",
        escape(title)
    );
}

/// What every class section needs.
struct Context<'a> {
    log: &'a Log,
    classes: Vec<u32>,
    index: Vec<(u32, Vec<u32>)>,
    rows: Vec<Vec<ClassRow>>,
    history: Vec<(u32, Vec<(f64, u64)>)>,
    span: Option<(f64, f64)>,
    max_instances: usize,
}

fn render_with(
    log: &Log,
    title: &str,
    max_instances: usize,
    layout: Option<(&str, &str)>,
) -> (String, Vec<(String, String)>) {
    let folder = layout.map(|(_, folder)| folder);
    let mut out = String::with_capacity(64 * 1024);
    let classes = log.tracked_classes();
    let index = log.index();
    let files = page_files(log, &classes);
    let link = |c: usize| folder.map(|folder| format!("{}/{}", escape(folder), escape(&files[c])));
    page_head(&mut out, title);
    let _ = writeln!(out, "<h1>{}</h1>", escape(title));
    let _ = writeln!(
        out,
        "<p class=\"meta\">Written by heapscope {}: {} tracked object{} of {} class{}, {} snapshot{}. Times are counted from the tracker's start (the import of heapscope.classtracker); shares are of the snapshot's tracked total.</p>",
        env!("CARGO_PKG_VERSION"),
        log.records.len(),
        if log.records.len() == 1 { "" } else { "s" },
        classes.len(),
        if classes.len() == 1 { "" } else { "es" },
        log.snapshots.len(),
        if log.snapshots.len() == 1 { "" } else { "s" },
    );
    if !classes.is_empty() {
        out.push_str("<p>Classes: ");
        for (i, &name) in classes.iter().enumerate() {
            let target = link(i).unwrap_or_else(|| format!("#{}", anchor(name as usize)));
            let _ = write!(
                out,
                "{}<a href=\"{target}\">{}</a>",
                if i > 0 { ", " } else { "" },
                escape(&log.names[name as usize])
            );
        }
        out.push_str("</p>\n");
    }

    // One time axis for every chart: from the first birth or snapshot to the last event.
    let times = log
        .records
        .iter()
        .flat_map(|r| std::iter::once(r.birth).chain(r.death))
        .chain(log.snapshots.iter().map(|s| s.timestamp));
    let span = times.fold(None, |span: Option<(f64, f64)>, t| match span {
        None => Some((t, t)),
        Some((lo, hi)) => Some((lo.min(t), hi.max(t))),
    });

    // Per-snapshot class figures, computed once.
    let rows: Vec<_> = (0..log.snapshots.len()).map(|k| log.class_rows(k)).collect();

    out.push_str("<h2>Memory over time</h2>\n");
    let mut tracked = vec![Series {
        label: "tracked total",
        color: "#333",
        points: log.snapshots.iter().map(|s| (s.timestamp, s.tracked_total as f64)).collect(),
        steps: false,
        dashed: true,
    }];
    for (c, &name) in classes.iter().enumerate() {
        tracked.push(class_memory(log, &rows, c, &log.names[name as usize], COLORS[c % COLORS.len()]));
    }
    out.push_str(&chart("Tracked objects", &tracked, true, span));
    let with_process: Vec<_> = log.snapshots.iter().filter(|s| s.process.available).collect();
    let process = [
        Series {
            label: "resident (RSS)",
            color: COLORS[0],
            points: with_process.iter().map(|s| (s.timestamp, s.process.rss as f64)).collect(),
            steps: false,
            dashed: false,
        },
        Series {
            label: "virtual (VMS)",
            color: COLORS[1],
            points: with_process.iter().map(|s| (s.timestamp, s.process.vms as f64)).collect(),
            steps: false,
            dashed: true,
        },
    ];
    out.push_str(&chart("Process memory", &process, true, span));
    out.push('\n');

    out.push_str("<h2>Snapshots</h2>\n");
    if log.snapshots.is_empty() {
        out.push_str("<p>No snapshot was taken.</p>\n");
    } else {
        out.push_str("<table><tr><th>#</th><th>time since start</th><th>description</th><th>resident (RSS)</th><th>virtual (VMS)</th><th>tracked</th><th>all objects</th><th>tracker overhead</th></tr>\n");
        for (k, s) in log.snapshots.iter().enumerate() {
            let process_cell = |v: u64| if s.process.available { size_text(v as f64) } else { "n/a".to_owned() };
            let _ = writeln!(
                out,
                "<tr><td class=\"n\">{k}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                duration_text(s.timestamp),
                escape(&s.description),
                process_cell(s.process.rss),
                process_cell(s.process.vms),
                size_text(s.tracked_total as f64),
                if s.asizeof_total > 0 { size_text(s.asizeof_total as f64) } else { "not computed".to_owned() },
                size_text(s.overhead as f64),
            );
        }
        out.push_str("</table>\n");
    }

    out.push_str("<h2>Classes</h2>\n");
    let ctx = Context { log, history: log.history(), classes, index, rows, span, max_instances };
    let mut pages = Vec::new();
    for (c, file) in files.iter().enumerate() {
        let (heading, section) = class_section(&ctx, c);
        out.push_str(&heading);
        if let Some(href) = link(c) {
            let _ = writeln!(out, "<p class=\"meta\"><a href=\"{href}\">Its own page</a></p>");
        }
        out.push_str(&section);
        if let Some((report, _)) = layout {
            let class_name = &log.names[ctx.classes[c] as usize];
            let mut html = String::with_capacity(16 * 1024);
            page_head(&mut html, &format!("{class_name}: {title}"));
            let _ = writeln!(html, "<h1>{}</h1>", escape(class_name));
            let _ = writeln!(
                html,
                "<p class=\"meta\">A class of <a href=\"../{}\">{}</a>.</p>",
                escape(report),
                escape(title)
            );
            html.push_str(&heading);
            html.push_str(&section);
            html.push_str("</body></html>\n");
            pages.push((file.clone(), html));
        }
    }
    out.push_str("</body></html>\n");
    (out, pages)
}

/// The section of tracked class number `c` (of `tracked_classes()`): its charts, its
/// figures per snapshot, merged referents and lifetime table, as `(its opening and
/// heading, the rest)`, so that the report can put the link to the class's own page
/// between the two without rendering the section twice.
fn class_section(ctx: &Context<'_>, c: usize) -> (String, String) {
    let mut out = String::with_capacity(16 * 1024);
    let (log, rows, span, history, index, max_instances) =
        (ctx.log, &ctx.rows, ctx.span, &ctx.history, &ctx.index, ctx.max_instances);
    let name = ctx.classes[c];
    let class_name = &log.names[name as usize];
    let members: &[u32] = index.iter().find(|(n, _)| *n == name).map_or(&[], |(_, r)| r.as_slice());
    let max_sizes: Vec<u64> = members.iter().map(|&r| log.max_size(r)).collect();
    let alive = members.iter().filter(|&&r| log.records[r as usize].death.is_none()).count();
    let heading = format!("<section id=\"{}\"><h3>{}</h3>\n", anchor(name as usize), escape(class_name));
    let total = max_sizes.iter().fold(0u64, |sum, &s| sum.saturating_add(s));
    let _ = writeln!(
        out,
        "<p>{} instance{} tracked, {} not seen to die. Largest size of each instance: average {}, smallest {}, largest {}.</p>",
        members.len(),
        if members.len() == 1 { "" } else { "s" },
        alive,
        size_text(if members.is_empty() { 0.0 } else { total as f64 / members.len() as f64 }),
        size_text(max_sizes.iter().copied().min().unwrap_or(0) as f64),
        size_text(max_sizes.iter().copied().max().unwrap_or(0) as f64),
    );
    let color = COLORS[c % COLORS.len()];
    let memory = [class_memory(log, rows, c, class_name, color)];
    out.push_str(&chart("Memory of its instances", &memory, true, span));
    let counts = [Series {
        label: class_name,
        color,
        points: history
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(Vec::new(), |(_, p)| p.iter().map(|&(t, n)| (t, n as f64)).collect()),
        steps: true,
        dashed: false,
    }];
    out.push_str(&chart("Instances alive", &counts, false, span));
    out.push('\n');
    if !log.snapshots.is_empty() {
        out.push_str("<table><tr><th>snapshot</th><th>instances alive</th><th>total size</th><th>average size</th><th>share of tracked</th></tr>\n");
        for (k, s) in log.snapshots.iter().enumerate() {
            let Some(row) = rows[k].get(c) else { continue };
            let label = if s.description.is_empty() {
                duration_text(s.timestamp)
            } else {
                format!("{} ({})", s.description, duration_text(s.timestamp))
            };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1}%</td></tr>",
                escape(&label),
                row.active,
                size_text(row.sum as f64),
                size_text(row.average),
                row.tracked_percent
            );
        }
        out.push_str("</table>\n");
        // Referents merged over the instances, for classes sized with detail.
        for (k, s) in log.snapshots.iter().enumerate() {
            let merged = log.merged_tree(k, class_name);
            if merged.len() > 1 {
                let _ = writeln!(
                    out,
                    "<details><summary>Referents at snapshot {k} ({}), {} in all</summary>{}</details>",
                    escape(if s.description.is_empty() { "untitled" } else { &s.description }),
                    size_text(merged[0].size as f64),
                    tree_list(&merged)
                );
            }
        }
    }
    out.push_str("<table><tr><th>id</th><th>repr</th><th>born</th><th>died</th><th>lifetime</th><th>largest size</th><th>last size</th></tr>\n");
    for (&r, &largest) in members.iter().zip(&max_sizes).take(max_instances) {
        let record = &log.records[r as usize];
        let sizes = log.sizes_of(r);
        let last = sizes.last().map_or(0, |s| s.1);
        let end = record.death.or_else(|| log.snapshots.last().map(|s| s.timestamp.max(record.birth)));
        let lifetime = match (record.death, end) {
            (Some(d), _) => duration_text(d - record.birth),
            (None, Some(e)) => format!("&ge; {}", duration_text(e - record.birth)),
            (None, None) => String::new(),
        };
        let mut repr_cell = escape(&log.repr_of(r));
        if let Some(trace) = trace_text(log, r) {
            let _ = write!(repr_cell, "<details><summary>created at</summary><pre>{}</pre></details>", escape(&trace));
        }
        let _ = writeln!(
            out,
            "<tr><td>{:#x}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            record.id,
            repr_cell,
            duration_text(record.birth),
            record.death.map_or_else(|| "alive".to_owned(), duration_text),
            lifetime,
            size_text(largest as f64),
            size_text(last as f64),
        );
    }
    out.push_str("</table>\n");
    if members.len() > max_instances {
        let _ = writeln!(out, "<p class=\"meta\">{} more instances not shown.</p>", members.len() - max_instances);
    }
    out.push_str("</section>\n");
    (heading, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classtracker::log::{Entry, Record, Snapshot, Watch};

    fn log() -> Log {
        let mut log = Log::default();
        log.names.insert("app.<Node>".into());
        for i in 0..3u32 {
            log.records.push(Record {
                id: 0x10 + u64::from(i),
                name: 0,
                level: 0,
                birth: f64::from(i),
                death: (i == 0).then_some(2.5),
                basicsize: 48,
                default_repr: None,
                watch: Watch::Weak,
            });
            log.reprs.insert(i, "<b>&x".into());
        }
        log.snapshots.push(Snapshot {
            timestamp: 3.0,
            description: "after <load>".into(),
            tracked_total: 300,
            entries: vec![Entry { record: 1, size: 100 }, Entry { record: 2, size: 200 }],
            ..Default::default()
        });
        log
    }

    #[test]
    fn report_is_self_contained_and_escaped() {
        let html = render(&log(), "Report <1>", 100);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>Report &lt;1&gt;</title>"));
        assert!(html.contains("app.&lt;Node&gt;"));
        assert!(html.contains("after &lt;load&gt;"));
        assert!(html.contains("&lt;b&gt;&amp;x"));
        assert!(!html.contains("<b>&x"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("http://") || !html.contains("src=\"http"));
        assert_eq!(html.matches("<svg").count(), 4);
    }

    #[test]
    fn report_shows_shares_of_tracked_and_short_times() {
        let mut log = log();
        // A virtual size that would make every share of it 0.0 %.
        log.snapshots[0].process.available = true;
        log.snapshots[0].process.vms = 1 << 40;
        log.snapshots[0].timestamp = 0.0123;
        for record in &mut log.records {
            record.birth /= 1000.0;
            record.death = record.death.map(|d| d / 1000.0);
        }
        let html = render(&log, "r", 100);
        assert!(html.contains("<th>share of tracked</th>"));
        assert!(html.contains("<td class=\"n\">100.0%</td>"), "{html}");
        assert!(!html.contains("0.00%"));
        assert!(html.contains("<td>12.3 ms</td>") && html.contains("after &lt;load&gt; (12.3 ms)"));
        assert!(html.contains("<td class=\"n\">2.5 ms</td>")); // the lifetime of the dead one
        assert!(!html.contains("00:00:0") && !html.contains("0.003s"));
        // Time ticks in milliseconds.
        assert!(html.contains(">0 ms</text>") && html.contains(" ms</text>"));
    }

    #[test]
    fn lifetime_table_is_bounded() {
        let html = render(&log(), "r", 2);
        assert!(html.contains("1 more instances not shown"));
        assert_eq!(html.matches("<td>0x1").count(), 2);
    }

    #[test]
    fn sizes_and_times_read_well() {
        assert_eq!(size_text(512.0), "512 B");
        assert_eq!(size_text(1536.0), "1.50 KiB");
        assert_eq!(size_text(3.0 * 1024.0 * 1024.0), "3.00 MiB");
        assert_eq!(duration_text(3725.4), "1:02:05");
    }

    #[test]
    fn trees_list_referents_largest_first() {
        let nodes = vec![
            TreeNode { parent: None, name: "".into(), size: 100, flat: 10 },
            TreeNode { parent: Some(0), name: "small".into(), size: 20, flat: 20 },
            TreeNode { parent: Some(0), name: "big".into(), size: 70, flat: 10 },
            TreeNode { parent: Some(2), name: "inner".into(), size: 60, flat: 60 },
        ];
        let html = tree_list(&nodes);
        let (big, small, inner) = (html.find("big").unwrap(), html.find("small").unwrap(), html.find("inner").unwrap());
        assert!(big < inner && inner < small);
        assert_eq!(html.matches("<ul").count(), html.matches("</ul>").count());
    }

    #[test]
    fn pages_layout_links_a_page_per_class() {
        let mut log = log();
        log.names.insert("../etc/Passwd".into());
        log.records[2].name = 1;
        let (index, pages) = render_pages(&log, "r", 100, "report.html", "report_files");
        let mut files: Vec<&str> = pages.iter().map(|(f, _)| f.as_str()).collect();
        files.sort_unstable();
        assert_eq!(files, ["app._Node_.html", "class.._etc_Passwd.html"]);
        for file in &files {
            assert!(index.contains(&format!("<a href=\"report_files/{file}\">")), "{file}: {index}");
        }
        let (_, page) = pages.iter().find(|(f, _)| f.starts_with("app")).unwrap();
        assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<a href=\"../report.html\">r</a>"));
        assert!(page.contains("<h3>app.&lt;Node&gt;</h3>") && !page.contains("Passwd"));
        // The single page has neither links to pages nor pages.
        assert!(!render(&log, "r", 100).contains("report_files"));
    }

    /// The sorted page file names of the test log with its last record's class renamed
    /// to `second`.
    fn page_files_with(second: &str) -> Vec<String> {
        let mut log = log();
        log.names.insert(second.into());
        log.records[2].name = 1;
        let (_, pages) = render_pages(&log, "r", 100, "x.html", "x_files");
        let mut files: Vec<String> = pages.into_iter().map(|(f, _)| f).collect();
        files.sort_unstable();
        files
    }

    #[test]
    fn page_names_stay_short() {
        let files = page_files_with(&"x".repeat(1000));
        assert!(files.iter().all(|file| file.len() <= 130), "{files:?}");
    }

    #[test]
    fn page_names_stay_unique() {
        assert_eq!(page_files_with("app.>Node<"), ["app._Node_-2.html", "app._Node_.html"]);
    }
}
