export const HELP = `provision: provision VMs (HVM BIOS/UEFI, PVH, legacy PV) on XCP-ng / XenServer over XAPI

Usage:
  provision <recipe> --host <host> [options]   create and start a VM from a recipe
  provision sim [--port N] [--listen ADDR]      run the XAPI simulator until SIGINT/SIGTERM
                [--profile NAME]               the release it simulates: xcp-ng-8.3 (default), xenserver-8,
                                               xcp-ng-8.2, xcp-1.1
  provision sim --inventory FILE [--port N]     the same with the pools an inventory file describes
                [--state-file FILE]            reload objects from FILE if present; save them on exit
  provision check-image <file> [--recipe <recipe>] [--flavour upstream|xcp-ng|bios|uefi|both] [--firmware bios|uefi|both] [--json]
                                               predict whether pygrub boots the image, and why
  provision rollout <fleet.yaml> [--dry-run] [--json] [--concurrency N] [--fail-fast] [--reconcile]
                                               roll out a fleet: many VMs over pools, one upload per SR,
                                               converge on re-run (docs/fleet.md)
  provision convert <vm> --host <host> [--dry-run] [--json] [--install-bootcode] [--undo] [--max-read MiB]
                                               check a PV guest's disk for an HVM boot and switch it to HVM
                                               (BIOS, disk first), with a snapshot and --undo (docs/convert.md)
  provision --help | --version

<recipe> is a name from recipes/ (freebsd-14, freebsd-13, debian-12, freebsd-9) or a path to a .yaml/.json file.
<host> is "sim" (an embedded simulator), a name (https://<name>/), name:port, or a URL.

Options:
  --name <vm name>      VM name-label (default: the recipe's name)
  --image <path>        raw disk image to upload (default: the recipe's image;
                        on --host sim without --image a sample FreeBSD image is generated)
  --sim-profile <name>  with --host sim: the release to simulate (default: the newest that runs the recipe)
  --json                print one JSON object on stdout at the end (errors too)
  --dry-run             look things up, then print every XAPI call it would make; change nothing
  --keep-on-failure     leave what this run created in place when a step fails
  --fingerprint <fp>    pin the host's self-signed certificate: sha256:<hex> (or XAPI_FINGERPRINT)
  --insecure            accept the host's TLS certificate without verifying it
  --timeout-connect <s> TCP connect + TLS handshake limit (default 30; or XAPI_TIMEOUT_CONNECT)
  --timeout-response <s> limit for a whole XAPI answer (default 120; or XAPI_TIMEOUT_RESPONSE)
  --timeout-idle <s>    no byte moving for this long ends a transfer (default 120; or XAPI_TIMEOUT_IDLE)
  --password-file <f>   read the password from the first line of a file
  --wait <probe>        after start, wait for the guest: ip, ip=CIDR, agent,
                        vm-data:<key>[=<value>], tcp:<port> (repeatable; all must hold)
  --wait-timeout <s>    limit for --wait (default 600); on timeout, a diagnosis
  --verify              after the upload, read the VDI back (GET /export_raw_vdi) and
                        compare it with the image segment by segment
  --skip-preflight      upload without checking that pygrub can boot the image
  --fix-offset          when partition a is not where pygrub looks, add the proposed
                        --offset=<bytes> to PV-bootloader-args
  --help, --version

Credentials: XAPI_USER, and the password from --password-file, XAPI_PASSWORD (environment
or ./.env), or a prompt when run on a terminal. Never put the password in an argument.

Examples:
  provision freebsd-14 --host sim
  provision freebsd-9 --host sim          (the HOWTO's PV guest: simulates XCP-ng 8.2)
  provision freebsd-9 --host xcp1 --image ./FreeBSD-PV.img --name web-01
  provision freebsd-9 --host xcp1:443 --dry-run
  provision ./my-recipe.yaml --host https://10.0.0.5/ --json
  provision sim --port 8080 --listen 127.0.0.1
  provision rollout recipes/fleet-web.yaml --dry-run
  provision check-image ./FreeBSD-PV.img --recipe freebsd-9

Exit codes: 0 success, 1 a step failed, 2 bad arguments, 3 bad recipe, 130 interrupted.
convert: 0 reported, converted or undone; 1 refused (something inside the guest blocks an HVM boot).
check-image: 0 bootable under every checked flavour (PV: both pygrubs by default; HVM: the recipe's firmware), 1 not bootable.
`
