//! Exchange Online standards.

use std::sync::Arc;

use serde_json::json;

use crate::standards::model::{Category, Impact, Mode, Standard, StandardMeta};
use crate::standards::read::Read;
use crate::standards::setting::{Field, SettingStandard, Write};
use crate::standards::NoSettings;

/// Every Exchange standard of the catalogue.
pub fn standards() -> Vec<Arc<dyn Standard>> {
    vec![Arc::new(disable_tnef())]
}

fn disable_tnef() -> SettingStandard<NoSettings> {
    SettingStandard::new(
        StandardMeta {
            name: "DisableTNEF",
            category: Category::Exchange,
            impact: Impact::Low,
            label: "Disable TNEF/winmail.dat",
            help: "Disables Transport Neutral Encapsulation Format (TNEF)/winmail.dat for the tenant. TNEF can cause issues if the recipient is not using a client supporting TNEF.",
            tags: &[],
            capabilities: &["EXCHANGE_S_STANDARD", "EXCHANGE_S_ENTERPRISE", "EXCHANGE_S_STANDARD_GOV", "EXCHANGE_S_ENTERPRISE_GOV", "EXCHANGE_LITE"],
            modes: Mode::ALL,
            multiple: false,
            reads_doc: "Get-RemoteDomain -Identity Default",
            writes_doc: "Set-RemoteDomain -Identity Default -TNEFEnabled $false",
        },
        Read::exchange_with("Get-RemoteDomain", json!({"Identity": "Default"})),
        |_| vec![Field::new("/TNEFEnabled", false)],
        |_, _| {
            Ok(Write::exchange(
                "Set-RemoteDomain",
                json!({"Identity": "Default", "TNEFEnabled": false}),
            ))
        },
    )
}
