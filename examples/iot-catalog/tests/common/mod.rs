//! What the tests against moto share: the catalog table, a device, the
//! clients.

#![allow(dead_code)] // each test file uses its own part

use iot_catalog::{Catalog, Registration};
use lambada_test_support::Moto;

pub const TABLE: &str = "iotCatalog";

/// Creates the article's table on moto: `serialNumber` (partition key) and
/// `clientId` (sort key), on demand.
pub async fn create_table(moto: &Moto, name: &str) {
    moto.create_table_with_keys(name, "serialNumber", "clientId")
        .await;
}

/// moto with the catalog table, and the catalog on it.
pub async fn catalog() -> (Moto, Catalog) {
    let moto = Moto::start();
    create_table(&moto, TABLE).await;
    let catalog = Catalog::new(moto.dynamodb(), TABLE);
    (moto, catalog)
}

/// The article's sample device, under another serial number.
pub fn device(serial: &str) -> Registration {
    Registration {
        serial_number: serial.to_owned(),
        client_id: "ID-91B2F06B3F05".into(),
        device: "myThing1".into(),
        endpoint: "abc123-ats.iot.us-east-1.amazonaws.com".into(),
        device_type: "MySmartIoTDevice".into(),
        certificate_id: None,
        activation_code: "AC-9BE75CD0F1543D44C9AB".into(),
    }
}
