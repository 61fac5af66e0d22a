//! Small parsers for what containers print: mountinfo, /proc status fields, namespace links.

/// Parse mountinfo text into (mount point, fs type, per-mount options, super options).
pub fn parse_mountinfo(text: &str) -> Vec<MountInfo> {
    text.lines()
        .filter_map(|l| {
            let (a, b) = l.split_once(" - ")?;
            let a: Vec<&str> = a.split_whitespace().collect();
            let b: Vec<&str> = b.split_whitespace().collect();
            Some(MountInfo {
                root: a.get(3)?.to_string(),
                mount_point: a.get(4)?.to_string(),
                options: a.get(5)?.split(',').map(str::to_string).collect(),
                fstype: b.first()?.to_string(),
                source: b.get(1).unwrap_or(&"").to_string(),
                super_options: b
                    .get(2)
                    .unwrap_or(&"")
                    .split(',')
                    .map(str::to_string)
                    .collect(),
            })
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct MountInfo {
    pub root: String,
    pub mount_point: String,
    pub options: Vec<String>,
    pub fstype: String,
    pub source: String,
    pub super_options: Vec<String>,
}

impl MountInfo {
    pub fn has_opt(&self, o: &str) -> bool {
        self.options.iter().any(|x| x == o) || self.super_options.iter().any(|x| x == o)
    }
}

/// Value of a `Key:\tvalue` line in /proc/<pid>/status-style text.
pub fn status_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':').map(str::trim))
}

/// Inode of a namespace link target like `net:[4026531840]`.
pub fn ns_inode(link: &str) -> Option<u64> {
    link.trim()
        .rsplit_once('[')?
        .1
        .trim_end_matches(']')
        .parse()
        .ok()
}
