//! Property tests of the embedding readers (part of the fuzz suite CI runs): `.npy` and
//! `.safetensors` files of arbitrary bytes, or with their headers' numbers replaced, give a
//! matrix that matches the file or an error naming it; never a panic or an allocation the
//! file's size does not back.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use super::parse_embeddings;

fn npy(descr: &str, shape: &str, data: &[u8], version: u8) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({shape}), }}")
            .into_bytes();
    let prefix = if version == 1 { 10 } else { 12 };
    while !(prefix + header.len() + 1).is_multiple_of(64) {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut bytes = vec![0x93, b'N', b'U', b'M', b'P', b'Y', version, 0];
    if version == 1 {
        bytes.extend_from_slice(&u16::try_from(header.len()).unwrap().to_le_bytes());
    } else {
        bytes.extend_from_slice(&u32::try_from(header.len()).unwrap().to_le_bytes());
    }
    bytes.extend(header);
    bytes.extend_from_slice(data);
    bytes
}

fn read(name: &str, bytes: &[u8]) {
    match parse_embeddings(std::path::Path::new(name), bytes) {
        Ok(m) => {
            assert!(m.dim > 0);
            assert_eq!(m.data.len(), m.rows * m.dim);
            assert!(m.data.len() * 4 <= bytes.len(), "more values than the file holds");
        }
        Err(e) => assert!(e.to_string().contains(name), "{e}"),
    }
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..6).prop_map(|n| n.to_string()),
        Just("18446744073709551615".to_owned()),
        Just("4611686018427387904".to_owned()),
        Just("-1".to_owned()),
        Just("1e9".to_owned()),
        Just(String::new()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_npy_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..200), version in 0u8..5) {
        let mut bytes = vec![0x93, b'N', b'U', b'M', b'P', b'Y', version, 0];
        bytes.extend(tail);
        read("a.npy", &bytes);
    }

    #[test]
    fn npy_headers_with_any_shape_never_panic(
        dims in proptest::collection::vec(number(), 0..4),
        descr in prop_oneof![Just("<f4"), Just("<f8"), Just(">f4"), Just("|u1"), Just("<c8")],
        values in 0usize..40,
        version in 1u8..4,
    ) {
        let shape = dims.join(", ") + if dims.len() == 1 { "," } else { "" };
        let data = vec![0u8; values * 4];
        read("m.npy", &npy(descr, &shape, &data, version));
    }

    #[test]
    fn safetensors_with_any_header_never_panic(
        header_len in prop_oneof![Just(None), (0u64..64).prop_map(Some), Just(Some(u64::MAX))],
        dims in proptest::collection::vec(0u64..6, 0..4),
        offsets in (0u64..64, 0u64..64),
        dtype in prop_oneof![Just("F32"), Just("F64"), Just("I8"), Just("BF16")],
        data in 0usize..64,
    ) {
        let header = format!(
            "{{\"e\":{{\"dtype\":\"{dtype}\",\"shape\":{dims:?},\"data_offsets\":[{},{}]}}}}",
            offsets.0, offsets.1
        );
        let len = header_len.unwrap_or(header.len() as u64);
        let mut bytes = len.to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend(std::iter::repeat_n(0u8, data));
        read("m.safetensors", &bytes);
    }
}
