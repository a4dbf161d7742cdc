//! Device identities in the article's formats, and batches of
//! registrations made of them (what `iot-provision` sends).
//!
//! | what | format | example |
//! |---|---|---|
//! | serial number | `SN-` + 12 uppercase hex digits (6 random bytes) | `SN-D7F3C8947867` |
//! | client id | `ID-` + 12 uppercase hex digits (6 random bytes) | `ID-91B2F06B3F05` |
//! | activation code | `AC-` + 20 uppercase hex digits (10 random bytes) | `AC-9BE75CD0F1543D44C9AB` |
//!
//! The article's Node.js script sliced its serial number to 15 digits, but
//! drew only 6 bytes (12 digits); its sample `SN-D7F3C8947867` has 12.
//! Bytes come from the operating system's generator: an activation code is
//! a secret (80 bits), and the next one cannot be guessed from the last.

use std::collections::HashSet;

use crate::Registration;

/// The serial number's prefix.
pub const SERIAL_PREFIX: &str = "SN-";
/// The client id's prefix.
pub const CLIENT_ID_PREFIX: &str = "ID-";
/// The activation code's prefix.
pub const ACTIVATION_CODE_PREFIX: &str = "AC-";
/// Hex digits after `SN-`.
pub const SERIAL_DIGITS: usize = 12;
/// Hex digits after `ID-`.
pub const CLIENT_ID_DIGITS: usize = 12;
/// Hex digits after `AC-`.
pub const ACTIVATION_CODE_DIGITS: usize = 20;

/// `digits` random uppercase hex digits (`digits` is even: whole bytes).
fn hex(digits: usize) -> String {
    let mut bytes = vec![0u8; digits.div_ceil(2)];
    getrandom::fill(&mut bytes).expect("the operating system's random number generator");
    let mut out = String::with_capacity(digits);
    for b in bytes {
        out.push_str(&format!("{b:02X}"));
    }
    out.truncate(digits);
    out
}

/// A random serial number: `SN-D7F3C8947867`.
pub fn serial_number() -> String {
    format!("{SERIAL_PREFIX}{}", hex(SERIAL_DIGITS))
}

/// A random client id: `ID-91B2F06B3F05`.
pub fn client_id() -> String {
    format!("{CLIENT_ID_PREFIX}{}", hex(CLIENT_ID_DIGITS))
}

/// A random activation code: `AC-9BE75CD0F1543D44C9AB`.
pub fn activation_code() -> String {
    format!("{ACTIVATION_CODE_PREFIX}{}", hex(ACTIVATION_CODE_DIGITS))
}

fn has_format(s: &str, prefix: &str, digits: usize) -> bool {
    s.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == digits
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    })
}

/// Whether `s` is a serial number in the article's format.
pub fn is_serial_number(s: &str) -> bool {
    has_format(s, SERIAL_PREFIX, SERIAL_DIGITS)
}

/// Whether `s` is a client id in the article's format.
pub fn is_client_id(s: &str) -> bool {
    has_format(s, CLIENT_ID_PREFIX, CLIENT_ID_DIGITS)
}

/// Whether `s` is an activation code in the article's format.
pub fn is_activation_code(s: &str) -> bool {
    has_format(s, ACTIVATION_CODE_PREFIX, ACTIVATION_CODE_DIGITS)
}

/// What a batch of devices has in common.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fleet {
    /// Things are named this plus their number: `myThing1`, `myThing2`, …
    pub name_prefix: String,
    /// The number of the first thing.
    pub first: u32,
    /// The device type.
    pub device_type: String,
    /// The AWS IoT data endpoint (`aws iot describe-endpoint --endpoint-type
    /// iot:Data-ATS`).
    pub endpoint: String,
}

impl Default for Fleet {
    /// The article's: `myThing1…`, `MySmartIoTDevice`.
    fn default() -> Self {
        Fleet {
            name_prefix: "myThing".into(),
            first: 1,
            device_type: "MySmartIoTDevice".into(),
            endpoint: "example.iot.us-east-1.amazonaws.com".into(),
        }
    }
}

impl Fleet {
    /// `count` registrations with fresh random identities, each serial
    /// number, client id and activation code different from every other
    /// one of the batch (a repeat is drawn again). Uniqueness against the
    /// devices already in the table is the registration's conditional
    /// write's business.
    pub fn generate(&self, count: u32) -> Vec<Registration> {
        let mut serials = HashSet::new();
        let mut clients = HashSet::new();
        let mut codes = HashSet::new();
        let fresh = |seen: &mut HashSet<String>, draw: fn() -> String| loop {
            let v = draw();
            if seen.insert(v.clone()) {
                break v;
            }
        };
        (0..count)
            .map(|i| Registration {
                serial_number: fresh(&mut serials, serial_number),
                client_id: fresh(&mut clients, client_id),
                device: format!(
                    "{}{}",
                    self.name_prefix,
                    u64::from(self.first) + u64::from(i)
                ),
                endpoint: self.endpoint.clone(),
                device_type: self.device_type.clone(),
                certificate_id: None,
                activation_code: fresh(&mut codes, activation_code),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_the_articles() {
        for _ in 0..200 {
            let (sn, id, ac) = (serial_number(), client_id(), activation_code());
            assert!(is_serial_number(&sn), "{sn}");
            assert!(is_client_id(&id), "{id}");
            assert!(is_activation_code(&ac), "{ac}");
            assert_eq!((sn.len(), id.len(), ac.len()), (15, 15, 23));
        }
        // The article's sample device.
        assert!(is_serial_number("SN-D7F3C8947867"));
        assert!(is_client_id("ID-91B2F06B3F05"));
        assert!(is_activation_code("AC-9BE75CD0F1543D44C9AB"));
    }

    #[test]
    fn format_checks_refuse_near_misses() {
        for bad in [
            "SN-D7F3C894786",       // 11 digits
            "SN-D7F3C89478670",     // 13
            "SN-d7f3c8947867",      // lowercase
            "SN-G7F3C8947867",      // not hex
            "ID-D7F3C8947867",      // another prefix
            "D7F3C8947867",         // none
            "SN-D7F3C894786 ",      // a space
            "SN-D7F3C894786\u{e9}", // not ASCII
        ] {
            assert!(!is_serial_number(bad), "{bad:?}");
        }
        assert!(!is_activation_code("AC-9BE75CD0F1543D44C9A"));
        assert!(!is_client_id("SN-91B2F06B3F05"));
    }

    #[test]
    fn draws_differ_and_use_every_digit() {
        let codes: HashSet<String> = (0..1000).map(|_| activation_code()).collect();
        assert_eq!(codes.len(), 1000);
        let digits: HashSet<char> = codes.iter().flat_map(|c| c[3..].chars()).collect();
        assert_eq!(digits.len(), 16, "{digits:?}");
    }

    #[test]
    fn a_batch_is_numbered_and_unique() {
        let fleet = Fleet {
            first: 7,
            ..Fleet::default()
        };
        let batch = fleet.generate(300);
        assert_eq!(batch.len(), 300);
        assert_eq!(batch[0].device, "myThing7");
        assert_eq!(batch[299].device, "myThing306");
        for (field, values) in [
            (
                "serial",
                batch
                    .iter()
                    .map(|r| &r.serial_number)
                    .collect::<HashSet<_>>(),
            ),
            ("client", batch.iter().map(|r| &r.client_id).collect()),
            ("code", batch.iter().map(|r| &r.activation_code).collect()),
            ("device", batch.iter().map(|r| &r.device).collect()),
        ] {
            assert_eq!(values.len(), 300, "{field}");
        }
        for r in &batch {
            assert!(is_serial_number(&r.serial_number));
            assert!(is_client_id(&r.client_id));
            assert!(is_activation_code(&r.activation_code));
            assert_eq!(r.device_type, "MySmartIoTDevice");
            assert_eq!(r.endpoint, "example.iot.us-east-1.amazonaws.com");
        }
        assert!(fleet.generate(0).is_empty());
    }

    #[test]
    fn a_registration_is_the_articles_payload() {
        let reg = Fleet::default().generate(1).remove(0);
        let json = serde_json::to_value(&reg).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "activationCode",
                "clientId",
                "device",
                "endpoint",
                "serialNumber",
                "type"
            ]
        );
        let back: Registration = serde_json::from_value(json).unwrap();
        assert_eq!(back, reg);
    }
}
