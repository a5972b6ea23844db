//! Microsoft Exchange Server 2007 and later, Exchange Online / Microsoft 365: "Undeliverable:" subjects, X-MS-Exchange-Message-Is-Ndr, "Diagnostic information for administrators".

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "exchange2007", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.has("x-ms-exchange-message-is-ndr") || p.body_has("diagnostic information for administrators") || p.body_has("delivery has failed to these recipients or groups") || (["undeliverable:", "non remis:", "non_remis_", "non recapitabile:", "unzustellbar:", "onbestelbaar:", "no se puede entregar:"].iter().any(|s| p.subject().starts_with(s)) && p.has("content-language"))
}
