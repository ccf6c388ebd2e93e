//! TensorBoard event files: TFRecord framing (length, masked CRC-32C, payload, masked CRC-32C)
//! of `tensorflow.Event` protocol buffers, the messages declared here with `prost` by their
//! field numbers in TensorFlow's `event.proto` and `summary.proto`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;

use super::Sink;

#[derive(Clone, PartialEq, Message)]
struct Event {
    #[prost(double, tag = "1")]
    wall_time: f64,
    #[prost(int64, tag = "2")]
    step: i64,
    #[prost(string, optional, tag = "3")]
    file_version: Option<String>,
    #[prost(message, optional, tag = "5")]
    summary: Option<Summary>,
}

#[derive(Clone, PartialEq, Message)]
struct Summary {
    #[prost(message, repeated, tag = "1")]
    value: Vec<Value>,
}

#[derive(Clone, PartialEq, Message)]
struct Value {
    #[prost(string, tag = "1")]
    tag: String,
    #[prost(float, optional, tag = "2")]
    simple_value: Option<f32>,
    #[prost(message, optional, tag = "4")]
    image: Option<Image>,
    #[prost(message, optional, tag = "8")]
    tensor: Option<TensorProto>,
    #[prost(message, optional, tag = "9")]
    metadata: Option<SummaryMetadata>,
}

#[derive(Clone, PartialEq, Message)]
struct Image {
    #[prost(int32, tag = "1")]
    height: i32,
    #[prost(int32, tag = "2")]
    width: i32,
    #[prost(int32, tag = "3")]
    colorspace: i32,
    #[prost(bytes = "vec", tag = "4")]
    encoded_image_string: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
struct SummaryMetadata {
    #[prost(message, optional, tag = "1")]
    plugin_data: Option<PluginData>,
}

#[derive(Clone, PartialEq, Message)]
struct PluginData {
    #[prost(string, tag = "1")]
    plugin_name: String,
    #[prost(bytes = "vec", tag = "2")]
    content: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
struct TensorProto {
    /// `DT_STRING` = 7.
    #[prost(int32, tag = "1")]
    dtype: i32,
    #[prost(message, optional, tag = "2")]
    tensor_shape: Option<TensorShapeProto>,
    #[prost(bytes = "vec", repeated, tag = "8")]
    string_val: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, Message)]
struct TensorShapeProto {
    #[prost(message, repeated, tag = "2")]
    dim: Vec<Dim>,
}

#[derive(Clone, PartialEq, Message)]
struct Dim {
    #[prost(int64, tag = "1")]
    size: i64,
}

/// One event file in a folder, as `SummaryWriter` writes them.
pub struct TensorBoard {
    file: BufWriter<File>,
    path: PathBuf,
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// TFRecord's masked CRC-32C.
fn masked_crc(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

impl TensorBoard {
    /// A new event file in `dir` (created), named `events.out.tfevents.<time>.<host>.<pid>`.
    pub fn create(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".to_owned());
        let name = format!("events.out.tfevents.{}.{host}.{}", now() as u64, std::process::id());
        let path = dir.join(name);
        let mut tb = Self { file: BufWriter::new(File::create(&path)?), path };
        tb.write(&Event {
            wall_time: now(),
            step: 0,
            file_version: Some("brain.Event:2".into()),
            summary: None,
        })?;
        Ok(tb)
    }

    fn write(&mut self, event: &Event) -> anyhow::Result<()> {
        let data = event.encode_to_vec();
        let len = (data.len() as u64).to_le_bytes();
        self.file.write_all(&len)?;
        self.file.write_all(&masked_crc(&len).to_le_bytes())?;
        self.file.write_all(&data)?;
        self.file.write_all(&masked_crc(&data).to_le_bytes())?;
        // Readers (and a kill) see every event as soon as it is written.
        self.file.flush()?;
        Ok(())
    }

    fn summary(&mut self, step: u64, value: Vec<Value>) -> anyhow::Result<()> {
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        self.write(&Event {
            wall_time: now(),
            step,
            file_version: None,
            summary: Some(Summary { value }),
        })
    }
}

/// Width and height of a PNG, from its header.
fn png_size(png: &[u8]) -> Option<(i32, i32)> {
    if png.len() < 24 || &png[..8] != b"\x89PNG\r\n\x1a\n" {
        return None;
    }
    let be = |b: &[u8]| i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    Some((be(&png[16..20]), be(&png[20..24])))
}

impl Sink for TensorBoard {
    fn name(&self) -> String {
        format!("tensorboard ({})", self.path.display())
    }

    fn scalars(&mut self, step: u64, values: &[(String, f64)]) -> anyhow::Result<()> {
        let value = values
            .iter()
            .map(|(tag, v)| Value {
                tag: tag.clone(),
                simple_value: Some(*v as f32),
                ..Value::default()
            })
            .collect();
        self.summary(step, value)
    }

    fn text(&mut self, tag: &str, text: &str) -> anyhow::Result<()> {
        let value = Value {
            tag: tag.to_owned(),
            tensor: Some(TensorProto {
                dtype: 7,
                tensor_shape: Some(TensorShapeProto { dim: vec![Dim { size: 1 }] }),
                string_val: vec![text.as_bytes().to_vec()],
            }),
            metadata: Some(SummaryMetadata {
                plugin_data: Some(PluginData { plugin_name: "text".into(), content: Vec::new() }),
            }),
            ..Value::default()
        };
        self.summary(0, vec![value])
    }

    fn image(&mut self, step: u64, tag: &str, png: &Path) -> anyhow::Result<()> {
        let bytes = std::fs::read(png)?;
        let (width, height) =
            png_size(&bytes).ok_or_else(|| anyhow::anyhow!("{} is not a PNG", png.display()))?;
        let image = Image { height, width, colorspace: 3, encoded_image_string: bytes };
        self.summary(
            step,
            vec![Value { tag: tag.to_owned(), image: Some(image), ..Value::default() }],
        )
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        Ok(self.file.flush()?)
    }
}
