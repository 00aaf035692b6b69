//! `atelier print certificate|label`: the certificate PDF and the asset label of a record,
//! written to a file or sent to a printer (IPP, `lp` as a fallback; `atelier_certify::print`).
//! Also the PDF that `atelier certify` writes beside the signed JSON.

use std::path::{Path, PathBuf};

use atelier_certify::label::{self, brother};
use atelier_certify::print::{self as printing, DocumentFormat, LabelFormat, Sent};
use atelier_certify::{Fonts, SignedRecord, render_certificate};
use atelier_record::{AssetRecord, Language};
use clap::{Args, Subcommand, ValueEnum};

use crate::commands::records::find;
use crate::context::Context;
use crate::exit;
use crate::i18n::{Lang, Msg};
use crate::output;

/// `atelier print …`.
#[derive(Debug, Subcommand)]
pub enum PrintCommand {
    /// Print the certificate (PDF) of a certified record.
    Certificate(PrintCertificateArgs),
    /// Print the asset label of a record (62 × 29 mm), as PDF or Brother QL raster.
    Label(PrintLabelArgs),
}

/// `atelier print certificate`.
#[derive(Debug, Args)]
pub struct PrintCertificateArgs {
    /// Record identifier, its first characters, or `last`.
    #[arg(default_value = "last")]
    pub record: String,

    /// Printer: a CUPS queue name or an IPP address (default: [printer] uri, else the CUPS
    /// default printer).
    #[arg(long, value_name = "NAME")]
    pub printer: Option<String>,

    /// Write the PDF to FILE instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Label formats on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LabelFormatArg {
    /// A 62 × 29 mm PDF page.
    Pdf,
    /// Brother QL raster commands (DK-11209 labels).
    BrotherQl,
}

/// `atelier print label`.
#[derive(Debug, Args)]
pub struct PrintLabelArgs {
    /// Record identifier, its first characters, or `last`.
    #[arg(default_value = "last")]
    pub record: String,

    /// Label format (default: [printer] label_format, else pdf).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<LabelFormatArg>,

    /// Printer: a CUPS queue name or an IPP address (default: [printer] label_uri, else uri,
    /// else the CUPS default printer).
    #[arg(long, value_name = "NAME")]
    pub printer: Option<String>,

    /// Write the label to FILE instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `atelier print …`.
pub fn run(ctx: &Context, cmd: &PrintCommand) -> u8 {
    match cmd {
        PrintCommand::Certificate(args) => certificate(ctx, args),
        PrintCommand::Label(args) => label_command(ctx, args),
    }
}

fn language(lang: Lang) -> Language {
    match lang {
        Lang::Fr => Language::Fr,
        Lang::En => Language::En,
    }
}

fn fonts(lang: Lang) -> Option<Fonts> {
    match Fonts::system() {
        Ok(f) => Some(f),
        Err(e) => {
            output::error(lang, &Msg::PdfProblem(e.to_string()));
            None
        }
    }
}

/// The signed document of a certified record, rebuilt from the store: the canonical text of
/// its signed view and its seal (the same bytes `certify` signed).
fn signed_of(record: &AssetRecord) -> Option<SignedRecord> {
    let seal = record.certificate.as_ref()?.seal.clone()?;
    let value = serde_json::to_value(record).ok()?;
    let record_json = atelier_certify::sign::signed_text(&value).ok()?;
    Some(SignedRecord {
        format: atelier_certify::SIGNED_RECORD_FORMAT.to_owned(),
        record_json,
        seal,
    })
}

/// Writes the certificate PDF of `signed` to `path` and says so; false (with the reason
/// printed) when it could not. Used by `atelier certify`.
pub fn write_certificate_pdf(ctx: &Context, signed: &SignedRecord, path: &Path) -> bool {
    let lang = ctx.lang;
    let Some(config) = ctx.config() else {
        output::say(lang, &Msg::PdfNotWritten);
        return false;
    };
    let Some(fonts) = fonts(lang) else {
        output::say(lang, &Msg::PdfNotWritten);
        return false;
    };
    match render_certificate(signed, &config.organisation, &fonts, None) {
        Ok(pdf) => match std::fs::write(path, pdf) {
            Ok(()) => {
                output::say(lang, &Msg::DocumentWritten { path });
                true
            }
            Err(e) => {
                output::error(
                    lang,
                    &Msg::CertificateWriteFailed {
                        path,
                        cause: e.to_string(),
                    },
                );
                false
            }
        },
        Err(e) => {
            output::error(lang, &Msg::PdfProblem(e.to_string()));
            output::say(lang, &Msg::PdfNotWritten);
            false
        }
    }
}

fn certificate(ctx: &Context, args: &PrintCertificateArgs) -> u8 {
    let lang = ctx.lang;
    let Some(config) = ctx.config() else {
        return exit::FAILED;
    };
    let Some(store) = ctx.open_store() else {
        return exit::FAILED;
    };
    let Some(record) = find(ctx, &store, &args.record) else {
        return exit::FAILED;
    };
    let Some(signed) = signed_of(&record) else {
        output::error(lang, &Msg::PrintNotCertified);
        return exit::REFUSED;
    };
    let Some(fonts) = fonts(lang) else {
        return exit::FAILED;
    };
    let pdf = match render_certificate(&signed, &config.organisation, &fonts, None) {
        Ok(p) => p,
        Err(e) => {
            output::error(lang, &Msg::PdfProblem(e.to_string()));
            return exit::FAILED;
        }
    };
    let id = record
        .certificate
        .as_ref()
        .map(|c| c.certificate_id.to_string())
        .unwrap_or_default();
    let default_path = ctx
        .data_dir()
        .join("certificates")
        .join(format!("{id}.pdf"));
    deliver(
        ctx,
        pdf,
        DocumentFormat::Pdf,
        args.out.as_deref(),
        &default_path,
        args.printer.as_deref().or(config.printer.uri.as_deref()),
        &format!("certificate {id}"),
    )
}

fn label_command(ctx: &Context, args: &PrintLabelArgs) -> u8 {
    let lang = ctx.lang;
    let Some(config) = ctx.config() else {
        return exit::FAILED;
    };
    let Some(store) = ctx.open_store() else {
        return exit::FAILED;
    };
    let Some(record) = find(ctx, &store, &args.record) else {
        return exit::FAILED;
    };
    let Some(fonts) = fonts(lang) else {
        return exit::FAILED;
    };
    let format = match args.format {
        Some(LabelFormatArg::Pdf) => LabelFormat::Pdf,
        Some(LabelFormatArg::BrotherQl) => LabelFormat::BrotherQl,
        None => config.printer.label_format,
    };
    let content = label::label_content(&record, &config.organisation, language(lang));
    let (data, doc_format, ext) = match label_bytes(&content, &fonts, format) {
        Ok(v) => v,
        Err(e) => {
            output::error(lang, &Msg::PdfProblem(e));
            return exit::FAILED;
        }
    };
    let default_path = ctx
        .data_dir()
        .join("labels")
        .join(format!("{}.{ext}", content.asset_tag));
    let printer = args
        .printer
        .as_deref()
        .or(config.printer.label_uri.as_deref())
        .or(config.printer.uri.as_deref());
    deliver(
        ctx,
        data,
        doc_format,
        args.out.as_deref(),
        &default_path,
        printer,
        &format!("label {}", content.asset_tag),
    )
}

/// The label's bytes in `format`, its document format and file extension.
pub fn label_bytes(
    content: &label::LabelContent,
    fonts: &Fonts,
    format: LabelFormat,
) -> Result<(Vec<u8>, DocumentFormat, &'static str), String> {
    match format {
        LabelFormat::Pdf => label::render_label_pdf(content, fonts)
            .map(|pdf| (pdf, DocumentFormat::Pdf, "pdf"))
            .map_err(|e| e.to_string()),
        LabelFormat::BrotherQl => label::render_label_ql(content, fonts, &brother::DK_11209)
            .map(|(_, data)| (data, DocumentFormat::Raw, "bin"))
            .map_err(|e| e.to_string()),
    }
}

/// Writes `data` to `out` when given; else keeps a copy at `default_path` and prints it.
fn deliver(
    ctx: &Context,
    data: Vec<u8>,
    format: DocumentFormat,
    out: Option<&Path>,
    default_path: &Path,
    printer: Option<&str>,
    title: &str,
) -> u8 {
    let lang = ctx.lang;
    let path = out.unwrap_or(default_path);
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    if let Err(e) = std::fs::write(path, &data) {
        output::error(
            lang,
            &Msg::CertificateWriteFailed {
                path,
                cause: e.to_string(),
            },
        );
        return exit::FAILED;
    }
    if out.is_some() {
        output::say(lang, &Msg::DocumentWritten { path });
        return exit::OK;
    }
    let destination = printing::resolve(printer, None);
    match printing::print(&destination, path, data, format, title) {
        Ok(Sent::Ipp { uri, job_id }) => {
            output::say(
                lang,
                &Msg::PrintSent {
                    printer: &uri,
                    job: job_id.map(|j| j.to_string()).unwrap_or_else(|| "?".into()),
                },
            );
            exit::OK
        }
        Ok(Sent::Lp { queue, message }) => {
            output::say(
                lang,
                &Msg::PrintSent {
                    printer: queue.as_deref().unwrap_or("lp"),
                    job: message,
                },
            );
            exit::OK
        }
        Err(e) => {
            output::error(lang, &Msg::PrintFailed(e.to_string()));
            exit::FAILED
        }
    }
}
