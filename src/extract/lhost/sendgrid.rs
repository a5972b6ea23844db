//! SendGrid: Return-Path <apps@sendgrid.net>, "This is an automatically generated message from SendGrid."

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "sendgrid", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.header_has("return-path", "apps@sendgrid.net") || p.body_has("automatically generated message from sendgrid")
}
