//! The sweep store (docs/design.md, "Sweeps"): a sweep's folder holds `sweep.parquet` (one row
//! per member: `index`, one column per parameter, every metric — counts as integers — `status`,
//! `error_code`), `returns.parquet` (`index`, `day`, `return` of each completed member),
//! `sweep.json` (the typed summary) and, for the server, `meta.json`. Every file is written
//! atomically and read without following a symbolic link; a Parquet footer's claims are checked
//! against the sweep's size before anything is decoded, and a decoder panic on a damaged page is
//! an error naming the file. Errors name files, never server folders.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use arrow_array::{
    Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema};
use cryptobt_domain::{
    panic_message,
    ports::{
        ListedSweep, StoreError, SweepFile, SweepId, SweepMember, SweepMeta, SweepOutcome,
        SweepRow, SweepStore, SweepSummary, SweepTable,
    },
    ErrorCode, MetricUnit, ParamValue, Params, RunStatus, METRICS,
};

/// A sweep's files read back: the parameter names, the members (with their daily returns when
/// asked) and `sweep.json`.
#[derive(Debug, Clone)]
pub struct SweepFiles {
    /// The parameter names, in grid order.
    pub names: Vec<String>,
    /// The members, in index order.
    pub members: Vec<SweepMember>,
    /// `sweep.json`.
    pub summary: SweepSummary,
}

fn damaged(file: SweepFile, message: impl Into<String>) -> StoreError {
    StoreError::Damaged { file: file.name(), message: message.into() }
}

fn io(what: &str, e: std::io::Error) -> StoreError {
    StoreError::Io { message: format!("{what}: {e}"), source: Some(Arc::new(e)) }
}

/// Opens the file `name` in the sweep folder `dir` without following a symbolic link.
fn open_in(dir: &Path, name: &str) -> std::io::Result<std::fs::File> {
    cryptobt_fs::check_no_links(dir, Path::new(name))?;
    std::fs::File::open(dir.join(name))
}

fn parquet_bytes(batch: &RecordBatch) -> Result<Vec<u8>, parquet::errors::ParquetError> {
    let mut bytes = Vec::new();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_created_by("cryptobt".to_owned())
        .build();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut bytes, batch.schema(), Some(props))?;
    writer.write(batch)?;
    writer.close()?;
    Ok(bytes)
}

/// A table as Parquet bytes.
fn parquet_of(
    batch: Result<RecordBatch, arrow_schema::ArrowError>,
) -> Result<Vec<u8>, parquet::errors::ParquetError> {
    parquet_bytes(&batch?)
}

/// `sweep.parquet`: `index`, one column per parameter (numbers, or text when any value is
/// text), every metric (counts as integers), `status`, `error_code`.
fn table_batch(
    names: &[String],
    members: &[SweepMember],
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let mut fields = vec![Field::new("index", DataType::UInt64, false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(UInt64Array::from(
        members.iter().map(|m| m.row.index as u64).collect::<Vec<_>>(),
    ))];
    for name in names {
        let numeric =
            members.iter().all(|m| !matches!(m.row.params.get(name), Some(ParamValue::Text(_))));
        if numeric {
            fields.push(Field::new(name, DataType::Float64, true));
            let values: Vec<Option<f64>> = members
                .iter()
                .map(|m| match m.row.params.get(name) {
                    Some(ParamValue::Number(n)) => Some(*n),
                    _ => None,
                })
                .collect();
            columns.push(Arc::new(Float64Array::from(values)));
        } else {
            fields.push(Field::new(name, DataType::Utf8, true));
            let values: Vec<Option<String>> = members
                .iter()
                .map(|m| {
                    m.row.params.get(name).map(|v| match v {
                        ParamValue::Number(n) => n.to_string(),
                        ParamValue::Text(t) => t.clone(),
                    })
                })
                .collect();
            columns.push(Arc::new(StringArray::from(values)));
        }
    }
    for (k, def) in METRICS.iter().enumerate() {
        if def.unit == MetricUnit::Count {
            fields.push(Field::new(def.key, DataType::Int64, true));
            let values: Vec<Option<i64>> =
                members.iter().map(|m| m.row.metrics[k].map(|v| v as i64)).collect();
            columns.push(Arc::new(Int64Array::from(values)));
        } else {
            fields.push(Field::new(def.key, DataType::Float64, true));
            let values: Vec<Option<f64>> = members.iter().map(|m| m.row.metrics[k]).collect();
            columns.push(Arc::new(Float64Array::from(values)));
        }
    }
    fields.push(Field::new("status", DataType::Utf8, false));
    columns.push(Arc::new(StringArray::from(
        members.iter().map(|m| m.row.status.as_str()).collect::<Vec<_>>(),
    )));
    fields.push(Field::new("error_code", DataType::Utf8, true));
    columns.push(Arc::new(StringArray::from(
        members.iter().map(|m| m.row.error_code.map(ErrorCode::as_str)).collect::<Vec<_>>(),
    )));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

/// `returns.parquet`: `index`, `day` (0 = the first day of the range) and `return`, one row per
/// completed member and day.
fn returns_batch(members: &[SweepMember]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let (mut index, mut day, mut value) = (Vec::new(), Vec::new(), Vec::new());
    for m in members {
        for (d, x) in m.daily.iter().enumerate() {
            index.push(m.row.index as u64);
            day.push(u32::try_from(d).unwrap_or(u32::MAX));
            value.push(*x);
        }
    }
    let schema = Schema::new(vec![
        Field::new("index", DataType::UInt64, false),
        Field::new("day", DataType::UInt32, false),
        Field::new("return", DataType::Float64, false),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from(index)),
        Arc::new(UInt32Array::from(day)),
        Arc::new(Float64Array::from(value)),
    ];
    RecordBatch::try_new(Arc::new(schema), columns)
}

/// Writes `sweep.parquet`, `returns.parquet` and `sweep.json` of `outcome` into `dir` (each
/// atomically).
///
/// # Errors
/// A [`StoreError`] naming the file that could not be written.
pub fn write_sweep(dir: &Path, outcome: &SweepOutcome) -> Result<(), StoreError> {
    std::fs::create_dir_all(dir).map_err(|e| io("the sweep's folder", e))?;
    let put = |file: SweepFile, bytes: Result<Vec<u8>, parquet::errors::ParquetError>| {
        let bytes = bytes.map_err(|e| damaged(file, e.to_string()))?;
        cryptobt_fs::write_atomic(&dir.join(file.name()), &bytes).map_err(|e| StoreError::Io {
            message: format!("{}: {e}", file.name()),
            source: Some(Arc::new(e)),
        })
    };
    put(SweepFile::Table, parquet_of(table_batch(&outcome.names, &outcome.members)))?;
    put(SweepFile::Returns, parquet_of(returns_batch(&outcome.members)))?;
    put(SweepFile::Summary, Ok(outcome.summary.to_text().into_bytes()))
}

/// Reads the Parquet `file` in `dir`, refusing one whose footer claims more than `max_rows` rows
/// or more decoded bytes than such rows can take, and turning a decoder panic on a damaged page
/// into an error.
fn read_batches(
    dir: &Path,
    file: SweepFile,
    max_rows: u64,
) -> Result<Vec<RecordBatch>, StoreError> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let opened = open_in(dir, file.name()).map_err(|e| io(file.name(), e))?;
    let length = opened.metadata().map_err(|e| io(file.name(), e))?.len();
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(opened).map_err(|e| e.to_string())?;
        let meta = builder.metadata();
        let rows = u64::try_from(meta.file_metadata().num_rows()).unwrap_or(u64::MAX);
        if rows > max_rows {
            return Err(format!("claims {rows} rows; a sweep of this size has at most {max_rows}"));
        }
        let columns = meta.file_metadata().schema_descr().num_columns() as u64;
        let claimed: i64 = meta
            .row_groups()
            .iter()
            .flat_map(|g| g.columns())
            .map(|c| c.uncompressed_size().max(0))
            .sum();
        let bound =
            rows.saturating_mul(columns).saturating_mul(256).saturating_add(length) + (1 << 20);
        if u64::try_from(claimed).unwrap_or(u64::MAX) > bound {
            return Err(format!("claims {claimed} decoded bytes for {rows} rows"));
        }
        let reader = builder.build().map_err(|e| e.to_string())?;
        reader.collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())
    }));
    match decoded {
        Ok(Ok(batches)) => Ok(batches),
        Ok(Err(e)) => Err(damaged(file, e)),
        Err(panic) => Err(damaged(file, panic_message(panic.as_ref()))),
    }
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, StoreError> {
    batch.column_by_name(name).and_then(|c| c.as_any().downcast_ref::<T>()).ok_or_else(|| {
        damaged(SweepFile::Table, format!("no column {name:?} of the expected type"))
    })
}

/// A metric column as f64: counts are integers in the file (older files wrote floats).
fn metric_values(batch: &RecordBatch, key: &str) -> Result<Vec<Option<f64>>, StoreError> {
    let column = batch
        .column_by_name(key)
        .ok_or_else(|| damaged(SweepFile::Table, format!("no column {key:?}")))?;
    if let Some(c) = column.as_any().downcast_ref::<Float64Array>() {
        return Ok((0..c.len()).map(|i| (!c.is_null(i)).then(|| c.value(i))).collect());
    }
    if let Some(c) = column.as_any().downcast_ref::<Int64Array>() {
        return Ok((0..c.len()).map(|i| (!c.is_null(i)).then(|| c.value(i) as f64)).collect());
    }
    Err(damaged(SweepFile::Table, format!("the column {key:?} is not a number")))
}

fn status_of(text: &str) -> Result<RunStatus, StoreError> {
    [RunStatus::Completed, RunStatus::Failed, RunStatus::Cancelled]
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| damaged(SweepFile::Table, format!("{text:?} is not a member status")))
}

/// Reads `sweep.json` of the sweep in `dir`.
///
/// # Errors
/// It is missing, a symbolic link or not a sweep summary.
pub fn read_summary(dir: &Path) -> Result<SweepSummary, StoreError> {
    let mut text = String::new();
    open_in(dir, SweepFile::Summary.name())
        .and_then(|mut f| std::io::Read::read_to_string(&mut f, &mut text))
        .map_err(|e| io(SweepFile::Summary.name(), e))?;
    serde_json::from_str(&text).map_err(|e| damaged(SweepFile::Summary, e.to_string()))
}

/// Reads the files of the sweep in `dir`: the names, the members and `sweep.json`; each member's
/// daily returns too (`returns.parquet`, what a merge needs) with `with_returns`.
///
/// # Errors
/// A [`StoreError`] naming the file that is missing, damaged or a symbolic link.
pub fn read_sweep(dir: &Path, with_returns: bool) -> Result<SweepFiles, StoreError> {
    let summary = read_summary(dir)?;
    let members_claimed = summary.members as u64;
    let days = summary.settings["start_date"]
        .as_str()
        .zip(summary.settings["end_date"].as_str())
        .and_then(|(a, b)| {
            Some((a.parse::<chrono::NaiveDate>().ok()?, b.parse::<chrono::NaiveDate>().ok()?))
        })
        .map_or(0, |(a, b)| u64::try_from((b - a).num_days() + 1).unwrap_or(0));
    let names: Vec<String> = summary
        .grid
        .iter()
        .filter_map(|g| g.split_once('=').map(|(n, _)| n.trim().to_owned()))
        .collect();
    let mut members = Vec::new();
    for batch in read_batches(dir, SweepFile::Table, members_claimed)? {
        let index = column::<UInt64Array>(&batch, "index")?;
        let status = column::<StringArray>(&batch, "status")?;
        let error = column::<StringArray>(&batch, "error_code")?;
        let metrics: Vec<Vec<Option<f64>>> =
            METRICS.iter().map(|d| metric_values(&batch, d.key)).collect::<Result<_, _>>()?;
        let params: Vec<(&String, &Arc<dyn Array>)> = names
            .iter()
            .map(|n| batch.column_by_name(n).map(|c| (n, c)))
            .collect::<Option<_>>()
            .ok_or_else(|| damaged(SweepFile::Table, "a parameter column is missing"))?;
        for i in 0..batch.num_rows() {
            let mut p = Params::new();
            for (name, col) in &params {
                if col.is_null(i) {
                    continue;
                }
                if let Some(numbers) = col.as_any().downcast_ref::<Float64Array>() {
                    p.insert((*name).clone(), ParamValue::Number(numbers.value(i)));
                } else if let Some(texts) = col.as_any().downcast_ref::<StringArray>() {
                    p.insert((*name).clone(), ParamValue::parse(texts.value(i)));
                }
            }
            members.push(SweepMember {
                row: SweepRow {
                    index: usize::try_from(index.value(i)).unwrap_or(usize::MAX),
                    params: p,
                    metrics: metrics.iter().map(|m| m[i]).collect(),
                    status: status_of(status.value(i))?,
                    error_code: (!error.is_null(i))
                        .then(|| ErrorCode::from_name(error.value(i)))
                        .flatten(),
                },
                daily: Vec::new(),
                message: None,
            });
        }
    }
    if with_returns && dir.join(SweepFile::Returns.name()).exists() {
        let max_rows = members_claimed.saturating_mul(days);
        for batch in read_batches(dir, SweepFile::Returns, max_rows)? {
            let index = batch
                .column_by_name("index")
                .and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
                .ok_or_else(|| damaged(SweepFile::Returns, "no index column"))?;
            let value = batch
                .column_by_name("return")
                .and_then(|c| c.as_any().downcast_ref::<Float64Array>())
                .ok_or_else(|| damaged(SweepFile::Returns, "no return column"))?;
            for i in 0..batch.num_rows() {
                let k = usize::try_from(index.value(i)).unwrap_or(usize::MAX);
                if let Ok(at) = members.binary_search_by_key(&k, |m| m.row.index) {
                    members[at].daily.push(value.value(i));
                }
            }
        }
    }
    Ok(SweepFiles { names, members, summary })
}

/// The sweeps of the server: `{root}/{sweep_id}/` each.
#[derive(Debug)]
pub struct FileSweepStore {
    root: PathBuf,
    counter: std::sync::atomic::AtomicU64,
}

impl FileSweepStore {
    /// Sweeps under `root` (created when missing).
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into(), counter: std::sync::atomic::AtomicU64::new(0) }
    }

    fn dir(&self, id: &SweepId) -> Result<PathBuf, StoreError> {
        cryptobt_fs::check_no_links(&self.root, Path::new(id.as_str()))
            .map_err(|e| io(id.as_str(), e))?;
        Ok(self.root.join(id.as_str()))
    }
}

/// Deletes what an atomic write left behind in a sweep folder when the process was killed
/// (`.meta.json.tmp`, `.sweep.parquet.tmp-*`).
fn remove_temporaries(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let temporary = name == ".meta.json.tmp" || cryptobt_fs::is_temporary(&name);
        if temporary && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

impl SweepStore for FileSweepStore {
    fn new_id(&self) -> SweepId {
        let now = chrono::Utc::now();
        let n = self.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let seed = (now.timestamp_nanos_opt().unwrap_or(0) as u64) ^ n.wrapping_mul(0x9E37_79B9);
        SweepId::new(now, seed)
    }

    fn list(&self) -> Result<Vec<ListedSweep>, StoreError> {
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io("the sweeps folder", e)),
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = SweepId::parse(&name) else { continue };
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue; // a symbolic link, or a stray file
            }
            remove_temporaries(&entry.path());
            let read = cryptobt_fs::read_no_links(&entry.path(), Path::new("meta.json"))
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    serde_json::from_slice::<SweepMeta>(&bytes).map_err(|e| e.to_string())
                });
            out.push(match read {
                Ok(meta) => ListedSweep::Meta(Box::new(meta)),
                Err(e) => {
                    ListedSweep::Damaged { id, message: format!("meta.json cannot be read: {e}") }
                }
            });
        }
        Ok(out)
    }

    fn save_meta(&self, meta: &SweepMeta) -> Result<(), StoreError> {
        let id = SweepId::parse(&meta.sweep_id)
            .ok_or_else(|| damaged(SweepFile::Summary, "not a sweep id"))?;
        let dir = self.dir(&id)?;
        std::fs::create_dir_all(&dir).map_err(|e| io(id.as_str(), e))?;
        let text = serde_json::to_string_pretty(meta).unwrap_or_default() + "\n";
        let tmp = dir.join(".meta.json.tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, dir.join("meta.json")))
            .map_err(|e| io("meta.json", e))
    }

    fn save(&self, id: &SweepId, outcome: &SweepOutcome) -> Result<(), StoreError> {
        write_sweep(&self.dir(id)?, outcome)
    }

    fn has_table(&self, id: &SweepId) -> bool {
        self.dir(id).is_ok_and(|d| d.join(SweepFile::Summary.name()).exists())
    }

    fn table(&self, id: &SweepId) -> Result<SweepTable, StoreError> {
        let files = read_sweep(&self.dir(id)?, false)?;
        Ok(SweepTable {
            summary: files.summary.to_text(),
            names: files.names,
            rows: files.members.into_iter().map(|m| m.row).collect(),
        })
    }

    fn file(&self, id: &SweepId, file: SweepFile) -> Result<Vec<u8>, StoreError> {
        cryptobt_fs::read_no_links(&self.root, &Path::new(id.as_str()).join(file.name()))
            .map_err(|e| io(file.name(), e))
    }

    fn delete(&self, id: &SweepId) -> Result<bool, StoreError> {
        let dir = self.root.join(id.as_str());
        match std::fs::symlink_metadata(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io(id.as_str(), e)),
            Ok(meta) if meta.file_type().is_symlink() => {
                std::fs::remove_file(&dir).map_err(|e| io(id.as_str(), e))?;
                Ok(true)
            }
            Ok(_) => {
                std::fs::remove_dir_all(&dir).map_err(|e| io(id.as_str(), e))?;
                Ok(true)
            }
        }
    }
}
