//! French help (`atelier --lang fr --help`). The English help is the doc comments of `cli.rs`;
//! this table gives the same texts in French, keyed by command path and argument id. A test
//! checks that every visible command and argument has its French text.

use clap::{Arg, ArgAction, Command};

/// `(command path, argument id or "" for the command itself, French text)`.
const TEXTS: &[(&str, &str, &str)] = &[
    (
        "",
        "",
        "Atelier : le banc de reconditionnement — inventaire, effacement, installation, certificat.",
    ),
    (
        "",
        "lang",
        "Langue des messages : fr ou en (par défaut : d'après LANG).",
    ),
    (
        "",
        "data_dir",
        "Dossier du stockage local (par défaut : la partition de données de la clé, sinon /var/lib/atelier).",
    ),
    (
        "devices",
        "",
        "Liste chaque disque avec son identité, et dit s'il peut être effacé (et sinon pourquoi).",
    ),
    ("devices", "json", "Affiche du JSON au lieu d'un tableau."),
    (
        "wipe",
        "",
        "Efface des disques (NIST SP 800-88 Clear : écrasement), vérifie et enregistre le résultat.",
    ),
    (
        "wipe",
        "devices",
        "Disques à effacer (/dev/sdb, /dev/nvme0n1, /dev/loop3…).",
    ),
    (
        "wipe",
        "all_eligible",
        "Efface chaque disque interne qui peut l'être (jamais la clé de démarrage ni un disque monté).",
    ),
    (
        "wipe",
        "include_removable",
        "Avec --all-eligible, prend aussi les disques USB et amovibles.",
    ),
    (
        "wipe",
        "pattern",
        "Motif d'un écrasement en une passe : random (par défaut) ou zero.",
    ),
    (
        "wipe",
        "method",
        "Méthode ; par défaut auto (la plus forte que le disque propose).\n  \
         Par le disque lui-même :\n    \
         NVMe : nvme-sanitize (le Sanitize le plus fort proposé), nvme-sanitize-crypto,\n      \
         nvme-sanitize-block, nvme-sanitize-overwrite, nvme-format-crypto, nvme-format\n    \
         ATA : ata-sanitize-crypto, ata-sanitize-block, ata-sanitize-overwrite,\n      \
         ata-security-erase-enhanced, ata-security-erase\n    \
         SCSI : scsi-sanitize-crypto, scsi-sanitize-block, scsi-sanitize-overwrite\n    \
         eMMC : emmc-secure-erase\n  \
         Par l'hôte, en réécrivant : overwrite (= overwrite-random), overwrite-random,\n    \
         overwrite-zero, legacy-3pass",
    ),
    (
        "wipe",
        "verify",
        "Vérification après la dernière passe : full (tout relire, par défaut) ou sampled (échantillons NIST, ≥ 10 %).",
    ),
    (
        "wipe",
        "request_mib",
        "Taille de chaque requête d'écriture et de lecture, en Mio (1 à 64).",
    ),
    (
        "wipe",
        "io_depth",
        "Nombre de requêtes envoyées au disque en même temps (1 à 16).",
    ),
    (
        "wipe",
        "yes_i_understand_this_destroys_data",
        "Ne pose pas de question (scripts, profils sans surveillance).",
    ),
    (
        "wipe",
        "plan_only",
        "Affiche le plan et s'arrête : rien n'est écrit.",
    ),
    (
        "wipe",
        "resume",
        "Reprend les effacements interrompus (tous, ou ceux des disques nommés), puis relit tout le disque.",
    ),
    (
        "wipe",
        "json",
        "Progression et résultats lisibles par un programme (lignes JSON sur la sortie standard).",
    ),
    // Purge — ATA Security Erase (issue 6).
    (
        "wipe",
        "recover",
        "Déverrouille et retire les mots de passe ATA laissés par un effacement sécurisé interrompu (fait aussi au début de chaque effacement), puis s'arrête.",
    ),
    (
        "wipe",
        "unfreeze",
        "Disques SATA gelés : met la machine en veille 5 secondes (rtcwake) pour lever le gel, afin que l'effacement sécurisé ATA puisse s'exécuter.",
    ),
    // Hidden areas — HPA / DCO / AMAC restore (issue 6).
    (
        "wipe",
        "restore_hidden_areas",
        "Zones cachées trouvées sur les disques ATA (HPA, DCO, adresse maximale accessible) : les restaure avant l'effacement pour qu'il couvre tout le disque ; sans cette option elles restent et le résultat est « effacé avec réserves ».",
    ),
    // Overwrite after a firmware erase (issue 6).
    (
        "wipe",
        "overwrite_after",
        "Après un effacement par le disque lui-même (Sanitize, Format, Security Erase, eMMC) réussi, réécrit encore tout le disque une fois (flux aléatoire) et le relit ; enregistré comme une passe de plus du même effacement.",
    ),
    ("records", "", "Fiches du stockage local."),
    (
        "certify",
        "",
        "Établit le certificat signé d'une fiche (seulement si chaque effacement de la fiche a réussi).",
    ),
    (
        "certify",
        "record",
        "Identifiant de la fiche, son début, ou « last ».",
    ),
    (
        "certify",
        "out",
        "Écrit aussi le certificat signé (JSON) dans FICHIER.",
    ),
    (
        "certify",
        "json",
        "Affiche le certificat signé sur la sortie standard.",
    ),
    (
        "verify",
        "",
        "Vérifie un certificat (JSON signé ou PDF) hors ligne : intact, et signé par un banc connu.",
    ),
    (
        "verify",
        "file",
        "Le certificat : le fichier JSON signé ou le PDF écrits par `atelier certify`.",
    ),
    (
        "verify",
        "trusted_keys",
        "Clés de bancs de confiance (par défaut : trusted-keys dans le dossier de données, plus la clé de ce banc).",
    ),
    ("keys", "", "La clé de signature du banc."),
    (
        "keys show",
        "",
        "Affiche la clé publique de ce banc et son empreinte (la clé est créée au premier usage).",
    ),
    (
        "deploy",
        "",
        "Écrit une image de système sur un ou plusieurs disques ou cartes à la fois, vérifie chacun et l'enregistre.",
    ),
    (
        "deploy",
        "image",
        "L'image : un fichier (.img, .img.xz, .img.zst, .img.gz, .zip), une adresse http(s):// ou un nom du catalogue.",
    ),
    (
        "deploy",
        "targets",
        "Disques ou cartes à écrire (/dev/sdb, /dev/mmcblk0…) ; plusieurs sont écrits en même temps.",
    ),
    (
        "deploy",
        "catalogue",
        "Catalogue d'images (par défaut : images/images.toml dans le dossier de données).",
    ),
    (
        "deploy",
        "bmap",
        "Carte des blocs de l'image (par défaut : IMAGE.bmap, ou le nom de l'image sans suffixe de compression + .bmap, s'il existe).",
    ),
    (
        "deploy",
        "no_bmap",
        "Ne pas utiliser de carte des blocs, même s'il y en a une à côté de l'image.",
    ),
    (
        "deploy",
        "offline",
        "N'utiliser que le cache des images, jamais le réseau (automatique quand le banc n'a pas de réseau).",
    ),
    (
        "deploy",
        "sha256",
        "SHA-256 attendu du fichier image tel que publié (s'il n'est pas dans le catalogue).",
    ),
    (
        "deploy",
        "plan_only",
        "Affiche le plan et s'arrête ; rien n'est écrit.",
    ),
    (
        "deploy",
        "customise",
        "Personnalisation après l'écriture : auto (celle du catalogue, sinon aucune sauf si une option ci-dessous est donnée), none, rpi (réglages du premier démarrage de Raspberry Pi OS) ou golden (agrandir la dernière partition, nouvelle identité de machine).",
    ),
    (
        "deploy",
        "hostname",
        "Nom de la machine, avec {n} (ou {n:03}) numéroté par cible : atelier-{n:03}.",
    ),
    (
        "deploy",
        "first_number",
        "Premier numéro de {n} dans --hostname.",
    ),
    ("deploy", "user", "Raspberry Pi OS : l'utilisateur à créer."),
    (
        "deploy",
        "password_file",
        "Raspberry Pi OS : un fichier dont la première ligne est le mot de passe de l'utilisateur (gardé seulement sous forme d'empreinte).",
    ),
    ("deploy", "ssh", "Raspberry Pi OS : active le serveur SSH."),
    (
        "deploy",
        "ssh_keys",
        "Raspberry Pi OS : clés SSH publiques autorisées (un fichier, une clé par ligne).",
    ),
    (
        "deploy",
        "wifi_ssid",
        "Raspberry Pi OS : nom du réseau Wi-Fi.",
    ),
    (
        "deploy",
        "wifi_password_file",
        "Raspberry Pi OS : un fichier dont la première ligne est la phrase de passe Wi-Fi.",
    ),
    (
        "deploy",
        "wifi_country",
        "Raspberry Pi OS : pays du Wi-Fi (par défaut FR).",
    ),
    (
        "deploy",
        "keymap",
        "Raspberry Pi OS : disposition du clavier (par défaut fr).",
    ),
    (
        "deploy",
        "timezone",
        "Raspberry Pi OS : fuseau horaire (par défaut Europe/Paris).",
    ),
    (
        "deploy",
        "locale",
        "Raspberry Pi OS : langue du système (par défaut fr_FR.UTF-8).",
    ),
    (
        "deploy",
        "yes_i_understand_this_destroys_data",
        "Ne pas demander de confirmation (scripts, tests).",
    ),
    (
        "deploy",
        "json",
        "Affiche des événements JSON au lieu des barres de progression.",
    ),
    (
        "inventory",
        "",
        "Inventaire de cette machine : identité, processeur, mémoire, disques et leur santé, batterie, écran, et un verdict par composant ; enregistré dans la fiche de la machine.",
    ),
    (
        "inventory",
        "format",
        "Format de sortie : human (un écran pour le technicien), json ou glpi.",
    ),
    ("inventory", "json", "Comme --format json."),
    (
        "inventory",
        "no_smart",
        "Ne pas interroger SMART (la santé des disques reste inconnue).",
    ),
    (
        "inventory",
        "no_save",
        "Ne pas enregistrer l'inventaire dans la fiche de la machine.",
    ),
    (
        "inventory capture",
        "",
        "Archive les données d'inventaire de cette machine (/sys, /proc, SMBIOS, EDID, smartctl) dans DIR, pour l'envoyer comme cas de test.",
    ),
    (
        "inventory capture",
        "dir",
        "Dossier vide ou nouveau où écrire la capture.",
    ),
    ("inventory capture", "no_smart", "Ne pas lancer smartctl."),
    (
        "records list",
        "",
        "Liste les fiches, la plus récente en dernier.",
    ),
    ("records list", "json", "Affiche du JSON."),
    (
        "records show",
        "",
        "Affiche une fiche (identifiant, ses premiers caractères, ou « last »).",
    ),
    (
        "records show",
        "id",
        "Identifiant de la fiche, son début, ou « last ».",
    ),
    ("records export", "", "Exporte une fiche."),
    (
        "records export",
        "id",
        "Identifiant de la fiche, son début, ou « last ».",
    ),
    (
        "records export",
        "json",
        "En JSON (la forme d'échange de la fiche).",
    ),
    // --- Certificate PDF, labels and printing (commands::print) ---
    (
        "print",
        "",
        "Imprime le certificat (PDF) ou l'étiquette d'une fiche, ou les écrit dans un fichier.",
    ),
    (
        "print certificate",
        "",
        "Imprime le certificat (PDF) d'une fiche certifiée.",
    ),
    (
        "print certificate",
        "record",
        "Identifiant de la fiche, son début, ou « last ».",
    ),
    (
        "print certificate",
        "printer",
        "Imprimante : nom d'une file CUPS ou adresse IPP (par défaut : [printer] uri, sinon l'imprimante par défaut de CUPS).",
    ),
    (
        "print certificate",
        "out",
        "Écrit le PDF dans FICHIER au lieu de l'imprimer.",
    ),
    (
        "print label",
        "",
        "Imprime l'étiquette d'inventaire d'une fiche (62 × 29 mm), en PDF ou en trame Brother QL.",
    ),
    (
        "print label",
        "record",
        "Identifiant de la fiche, son début, ou « last ».",
    ),
    (
        "print label",
        "format",
        "Format de l'étiquette (par défaut : [printer] label_format, sinon pdf).",
    ),
    (
        "print label",
        "printer",
        "Imprimante : nom d'une file CUPS ou adresse IPP (par défaut : [printer] label_uri, sinon uri, sinon l'imprimante par défaut de CUPS).",
    ),
    (
        "print label",
        "out",
        "Écrit l'étiquette dans FICHIER au lieu de l'imprimer.",
    ),
    // --- Push to central inventories (commands::push) ---
    (
        "push",
        "",
        "Envoie les fiches certifiées aux inventaires centraux (GLPI, Snipe-IT, HTTPS), ou montre ce qui attend.",
    ),
    (
        "push",
        "record",
        "Met d'abord en file cette fiche certifiée (identifiant, ses premiers caractères, ou `last`) pour chaque destination.",
    ),
    (
        "push",
        "status",
        "Montre ce qui est en file, livré ou bloqué, et pourquoi ; n'envoie rien.",
    ),
    ("push", "json", "Avec --status : affiche du JSON."),
    (
        "push",
        "retry_failed",
        "Remet en file les envois bloqués (après en avoir corrigé la cause).",
    ),
    (
        "push",
        "wait",
        "Réessaie pendant au plus SECONDES (par défaut : wait_seconds de [push]).",
    ),
    // --- Yearly report (commands::report) ---
    (
        "report",
        "",
        "Les chiffres de l'année pour les financeurs : ordinateurs certifiés, Raspberry Pi préparés, disques effacés par méthode, par structure partenaire (tableau, CSV ou JSON).",
    ),
    (
        "report",
        "from",
        "Premier jour de la période, inclus (AAAA-MM-JJ ; par défaut : sans limite).",
    ),
    (
        "report",
        "to",
        "Dernier jour de la période, inclus (AAAA-MM-JJ ; par défaut : sans limite).",
    ),
    (
        "report",
        "inputs",
        "Lit aussi les fiches exportées par d'autres postes sous DOSSIER (certificats signés *.json, fiches *.json, JSON Lines *.jsonl) ; peut être répété.",
    ),
    ("report", "format", "Format de sortie."),
    (
        "report",
        "out",
        "Écrit le rapport dans FICHIER au lieu de la sortie standard.",
    ),
    // --- Deploy: image capture (commands::image) ---
    (
        "image",
        "",
        "Images de référence : en capturer une depuis le disque d'une machine de référence.",
    ),
    (
        "image capture",
        "",
        "Fait une image de référence depuis le disque d'une machine de référence (lecture seule) : blocs utilisés seulement, zstd, avec sa carte des blocs, ses SHA-256 et une entrée de catalogue.",
    ),
    (
        "image capture",
        "device",
        "Le disque de référence (/dev/sda, /dev/nvme0n1…), non monté en écriture, ou un fichier image de disque.",
    ),
    (
        "image capture",
        "out",
        "Dossier pour l'image, sa carte des blocs, son SHA-256 et son entrée de catalogue.",
    ),
    (
        "image capture",
        "name",
        "Nom de l'image et de ses fichiers (par défaut : golden-AAAA-MM-JJ).",
    ),
    (
        "image capture",
        "level",
        "Niveau Zstandard, de 1 (rapide) à 19 (petit).",
    ),
    (
        "image capture",
        "json",
        "Affiche des événements JSON au lieu de phrases.",
    ),
    // --- USB export (commands::export) ---
    (
        "export",
        "",
        "Copie les fiches certifiées dans un dossier (clé USB) : certificats signés (JSON et PDF), certificates.jsonl et inventaires GLPI pour glpi-injector.",
    ),
    (
        "export",
        "to",
        "Le dossier où écrire (une clé USB montée) ; il doit exister.",
    ),
    (
        "export",
        "from",
        "Seulement les certificats émis ce jour ou après (AAAA-MM-JJ).",
    ),
    (
        "export",
        "to_date",
        "Seulement les certificats émis ce jour ou avant (AAAA-MM-JJ).",
    ),
    (
        "export",
        "records",
        "Seulement ces fiches (identifiant, ses premiers caractères, ou « last ») ; par défaut : toutes les fiches certifiées.",
    ),
];

/// `cmd` with its help in French.
pub fn localize(cmd: Command) -> Command {
    localize_at(cmd, "")
}

fn localize_at(mut cmd: Command, path: &str) -> Command {
    for (p, arg, text) in TEXTS {
        if *p != path {
            continue;
        }
        if arg.is_empty() {
            cmd = cmd.about(*text);
        } else {
            // The French text names the values itself; clap would list them in English.
            cmd = cmd.mut_arg(*arg, |a| {
                let takes_values = a.get_value_parser().possible_values().is_some()
                    && a.get_num_args().is_none_or(|n| n.takes_values());
                let a = a.help(*text);
                if takes_values && a.get_action().takes_values() {
                    a.hide_possible_values(true)
                } else {
                    a
                }
            });
        }
    }
    cmd = cmd
        .disable_help_subcommand(true)
        .subcommand_help_heading("Commandes")
        .help_template("{about-with-newline}\nUtilisation : {usage}\n\n{all-args}{after-help}")
        .disable_help_flag(true)
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("Affiche cette aide"),
        );
    if path.is_empty() {
        cmd = cmd.disable_version_flag(true).arg(
            Arg::new("version")
                .short('V')
                .long("version")
                .action(ArgAction::Version)
                .help("Affiche la version"),
        );
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        let sub_path = if path.is_empty() {
            name.clone()
        } else {
            format!("{path} {name}")
        };
        cmd = cmd.mut_subcommand(&name, |sub| localize_at(sub, &sub_path));
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn visible(cmd: &Command, path: &str, out: &mut Vec<(String, String)>) {
        out.push((path.to_string(), String::new()));
        for a in cmd.get_arguments() {
            let id = a.get_id().as_str();
            if !a.is_hide_set() && id != "help" && id != "version" {
                out.push((path.to_string(), id.to_string()));
            }
        }
        for s in cmd.get_subcommands() {
            let p = if path.is_empty() {
                s.get_name().to_string()
            } else {
                format!("{path} {}", s.get_name())
            };
            visible(s, &p, out);
        }
    }

    #[test]
    fn every_visible_command_and_argument_has_a_french_text() {
        let mut all = Vec::new();
        visible(&crate::cli::Cli::command(), "", &mut all);
        for (path, arg) in all {
            // Global arguments are listed at the root only.
            if !path.is_empty() && (arg == "lang" || arg == "data_dir") {
                continue;
            }
            assert!(
                TEXTS.iter().any(|(p, a, _)| *p == path && *a == arg),
                "no French help for `{path}` {arg}"
            );
        }
    }

    /// `--method` lists every name `atelier wipe` accepts, in both languages.
    #[test]
    fn wipe_method_help_lists_every_method_name() {
        let (_, _, fr) = TEXTS
            .iter()
            .find(|(p, a, _)| *p == "wipe" && *a == "method")
            .unwrap();
        let cmd = crate::cli::Cli::command();
        let wipe = cmd.find_subcommand("wipe").unwrap();
        let arg = wipe
            .get_arguments()
            .find(|a| a.get_id() == "method")
            .unwrap();
        let en = arg.get_help().unwrap().to_string();
        let words = |text: &str| -> Vec<String> {
            text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .map(str::to_string)
                .collect()
        };
        let (fr, en) = (words(fr), words(&en));
        for name in atelier_wipe::policy::Requested::names() {
            assert!(fr.iter().any(|w| w == name), "French help lacks {name}");
            assert!(en.iter().any(|w| w == name), "English help lacks {name}");
        }
    }

    #[test]
    fn french_help_renders() {
        let mut cmd = localize(crate::cli::Cli::command());
        let help = cmd.render_help().to_string();
        assert!(help.contains("Utilisation : "), "{help}");
        assert!(help.contains("Efface des disques"), "{help}");
        let wipe = cmd
            .find_subcommand_mut("wipe")
            .unwrap()
            .render_help()
            .to_string();
        assert!(
            wipe.contains("Reprend les effacements interrompus"),
            "{wipe}"
        );
    }
}
