//! Where in a rule file a fault is: the line of a key a check names, the key at a parse error's
//! offset. Readings of the lines, good for the plain files of `rules/`.

/// The 1-based line of a dotted key from a check (`late_fee.years[2].after`,
/// `ordinary.due_days[0]`, `high_cost[1].elderly.general.base`): below the table the key names
/// (the `n`-th `[[table.array]]` header for an indexed array of tables), the first line that sets
/// the key's last part, opens its table, or holds it in an inline table (`general = { base = … }`);
/// else the table's header. A reading of the lines, good for the plain files of `rules/`.
pub(crate) fn line_of_dotted_key(text: &str, key: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let parts: Vec<&str> = key.split('.').collect();
    let (last, tables) = parts.split_last()?;
    let mut start = 0;
    let mut end = lines.len();
    let mut path = String::new();
    let mut inline = None;
    for table in tables {
        let (name, index) = match table.split_once('[') {
            Some((name, index)) => (name, index.trim_end_matches(']').parse::<usize>().ok()),
            None => (*table, None),
        };
        path = if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
        let header = |line: &&str| {
            let line = line.trim();
            line == format!("[{path}]") || line == format!("[[{path}]]")
        };
        let found = lines[start..end].iter().enumerate().filter(|(_, line)| header(line)).nth(index.unwrap_or(0));
        let Some((offset, _)) = found else {
            // No header: perhaps an inline table (`general = { base = 57600 }`) in the table above.
            inline = Some(name);
            break;
        };
        start += offset;
        // Up to the next header that is not a table inside this one (the next entry of an array
        // of tables included).
        let inside = |line: &&str| {
            let name = line.trim().trim_start_matches('[').split(']').next().unwrap_or("").trim();
            name.starts_with(&format!("{path}."))
        };
        end = lines[start + 1..]
            .iter()
            .position(|line| line.trim_start().starts_with('[') && !inside(line))
            .map_or(lines.len(), |i| start + 1 + i);
    }
    let (name, _) = last.split_once('[').unwrap_or((last, ""));
    (start..end)
        .find(|&i| {
            let line = lines[i].trim_start();
            match inline {
                Some(table) => line.starts_with(&format!("{table} ")) && line.contains(&format!("{name} =")),
                None => line.starts_with(&format!("{name} ")) || line.starts_with(&format!("{name}=")),
            }
        })
        .or_else(|| {
            // A key that is itself a table or an array of tables: its first header.
            let full = if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
            (start..end).find(|&i| lines[i].trim() == format!("[{full}]") || lines[i].trim() == format!("[[{full}]]"))
        })
        .or_else(|| (!tables.is_empty() || start > 0).then_some(start))
        .or_else(|| {
            lines.iter().position(|line| line.trim() == format!("[{name}]") || line.trim() == format!("[[{name}]]"))
        })
        .map(|i| i + 1)
}

/// The 1-based line of byte offset `at` in `text`.
pub(crate) fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())].iter().filter(|&&byte| byte == b'\n').count() + 1
}

/// The text between `prefix` and the next backtick in `message`.
pub(crate) fn quoted_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = &message[message.find(prefix)? + prefix.len()..];
    rest.split('`').next()
}

/// The dotted key of the TOML value at byte `at`: the table header above it and the key on its
/// line (or, in a value spanning lines, the key that opened it). A reading of the lines, good for
/// the plain files of `rules/`; `None` when no key can be told.
pub(crate) fn toml_key_at(text: &str, at: usize) -> Option<String> {
    let mut table: Vec<String> = Vec::new();
    let mut key: Vec<String> = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        if start > at {
            break;
        }
        start += line.len();
        let content = line.trim();
        if let Some(header) = content.strip_prefix('[') {
            let header = header.trim_start_matches('[');
            table = dotted(header.split(']').next().unwrap_or(header));
            key.clear();
        } else if !content.starts_with('#') {
            if let Some((left, _)) = content.split_once('=') {
                let left = dotted(left);
                if !left.is_empty() && !left.iter().any(|part| part.contains(['"', '\'', ',', ' '])) {
                    key = left;
                }
            }
        }
    }
    let path: Vec<String> = table.into_iter().chain(key).collect();
    (!path.is_empty()).then(|| path.join("."))
}

fn dotted(key: &str) -> Vec<String> {
    key.split('.')
        .map(|part| part.trim().trim_matches('"').trim_matches('\'').to_owned())
        .filter(|part| !part.is_empty())
        .collect()
}

/// The last `"key":` on 1-based `line` that starts before 1-based `column`.
pub(crate) fn json_key_on(text: &str, line: usize, column: usize) -> Option<String> {
    let content = text.lines().nth(line.checked_sub(1)?)?;
    let bytes = content.as_bytes();
    let mut key = None;
    let mut at = 0;
    while at < bytes.len() && at < column {
        if bytes[at] != b'"' {
            at += 1;
            continue;
        }
        let start = at + 1;
        let mut end = start;
        while end < bytes.len() && bytes[end] != b'"' {
            end += if bytes[end] == b'\\' { 2 } else { 1 };
        }
        let end = end.min(bytes.len());
        if content[end.min(content.len())..].trim_start_matches('"').trim_start().starts_with(':') {
            key = Some(content[start..end].to_owned());
        }
        at = end + 1;
    }
    key
}
