//! `kevents certs generate`: a self-signed CA and a server certificate signed by it, for trying
//! TLS (`--tls-cert-file`, `--tls-private-key-file`, kubectl `--certificate-authority`).

use anyhow::Context;
use clap::{Args, Subcommand};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use std::path::PathBuf;

/// `kevents certs …`.
#[derive(Args, Debug)]
pub struct CertsArgs {
    #[command(subcommand)]
    command: CertsCommand,
}

#[derive(Subcommand, Debug)]
enum CertsCommand {
    /// Write ca.crt, ca.key, server.crt and server.key into a directory.
    Generate {
        /// Where to write the files.
        #[arg(long, default_value = "./kevents-certs")]
        dir: PathBuf,
        /// Host names and IP addresses the server certificate is valid for.
        #[arg(long = "host", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()])]
        hosts: Vec<String>,
        /// Also write client.crt/client.key for this user (the certificate's CN).
        #[arg(long)]
        client: Option<String>,
        /// Groups of the client certificate (its O attributes; repeatable).
        #[arg(long = "client-group")]
        client_groups: Vec<String>,
    },
}

/// Runs the subcommand.
pub fn run(args: CertsArgs) -> anyhow::Result<()> {
    let CertsCommand::Generate {
        dir,
        hosts,
        client,
        client_groups,
    } = args.command;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let ca_key = KeyPair::generate().context("generating the CA key")?;
    let mut ca_params = CertificateParams::default();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "kevents CA");
    let ca_cert = ca_params.self_signed(&ca_key).context("signing the CA")?;
    let server_key = KeyPair::generate().context("generating the server key")?;
    let mut server_params = CertificateParams::default();
    server_params
        .distinguished_name
        .push(DnType::CommonName, "kevents");
    for host in &hosts {
        server_params.subject_alt_names.push(match host.parse() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(host.clone().try_into().context("invalid host name")?),
        });
    }
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let server_cert = server_params
        .signed_by(&server_key, &issuer)
        .context("signing the server certificate")?;
    let write = |name: &str, contents: String| {
        let path = dir.join(name);
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))
    };
    write("ca.crt", ca_cert.pem())?;
    write("ca.key", ca_key.serialize_pem())?;
    write("server.crt", server_cert.pem())?;
    write("server.key", server_key.serialize_pem())?;
    if let Some(user) = &client {
        let client_key = KeyPair::generate().context("generating the client key")?;
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, user.as_str());
        for group in &client_groups {
            params
                .distinguished_name
                .push(DnType::OrganizationName, group.as_str());
        }
        let certificate = params
            .signed_by(&client_key, &issuer)
            .context("signing the client certificate")?;
        write("client.crt", certificate.pem())?;
        write("client.key", client_key.serialize_pem())?;
        println!(
            "wrote {0}/client.crt, {0}/client.key (user {user})",
            dir.display()
        );
    }
    println!(
        "wrote {0}/ca.crt, {0}/ca.key, {0}/server.crt, {0}/server.key (valid for {1})",
        dir.display(),
        hosts.join(", ")
    );
    Ok(())
}
