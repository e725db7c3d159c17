//! Each platform's secret variable (`sendgrid_verification_key`,
//! `mandrill_webhook_key`, `hubspot_client_secret`, `generic_webhook_secret`)
//! through `Credentials::from_config`, as the webhook handler reads it on every
//! request: any text is unconfigured, invalid or usable, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opsflow_domain::webhooks::{Credentials, Platform, VerifyError};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for platform in Platform::ALL {
        match Credentials::from_config(platform, Some(text)) {
            Ok(credentials) => assert_eq!(credentials.platform(), platform),
            Err(VerifyError::Unconfigured) => assert!(text.trim().is_empty()),
            Err(VerifyError::InvalidConfig(variable)) => {
                assert_eq!(variable, platform.secret_variable());
            }
            Err(e) => panic!("{platform}: unexpected {e:?}"),
        }
    }
});
