//! A simulated service's answer, before it becomes an HTTP response.

use bytes::Bytes;
use serde_json::Value;

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
    pub(crate) headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub(crate) fn empty(status: u16) -> Reply {
        Reply {
            status,
            body: Bytes::new(),
            headers: Vec::new(),
        }
    }

    pub(crate) fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body: Bytes::from(body.to_string()),
            headers: vec![("content-type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8".into())],
        }
    }
}
