import { COMMON, CONNECTION, CONSENT, DRY_RUN, JSON_OUT, TIMEOUTS, type OptionTable } from './options.js'
import { DESTROY } from './destroy-command.js'

/**
 * What each command is and takes: its help and its option table, nothing that runs
 * (run-command.ts does). A new command is one entry here and one in run-command.ts.
 */
export interface CommandSpec {
  name: string
  /** Other names it answers to (destroy: uninstall, as xe says). */
  aliases?: string[]
  /** One line for the overview in `provision --help`. */
  summary: string
  /** Usage lines, without the leading "provision ". */
  usage: string[]
  /** Paragraphs after the usage: what the positionals are, what it does. */
  about: string[]
  options: OptionTable
  examples: string[]
  /** Exit codes beyond the common ones (docs/cli.md). */
  exits: string[]
}

const PROVISION: CommandSpec = {
  name: 'provision',
  summary: 'create and start a VM from a recipe (the default command)',
  usage: ['<recipe> --host <host> [options]'],
  about: [
    '<recipe> is a name from recipes/ (freebsd-14, freebsd-13, debian-12, freebsd-9) or a path to a .yaml/.json file.',
    '<host> is "sim" (an embedded simulator), a name (https://<name>/), name:port, or a URL; XAPI_HOST is the default.',
  ],
  options: {
    ...CONNECTION,
    name: { type: 'string', arg: 'vm name', help: "VM name-label (default: the recipe's name)" },
    image: { type: 'string', arg: 'path', help: "disk image to upload (default: the recipe's image; on --host sim a sample image is generated)" },
    'sim-profile': { type: 'string', arg: 'name', help: 'with --host sim: the release to simulate (default: the newest that runs the recipe)' },
    ...JSON_OUT,
    ...DRY_RUN,
    'keep-on-failure': { type: 'boolean', help: 'leave what this run created in place when a step fails' },
    reconcile: { type: 'boolean', help: "the VM exists: also revert changes made to it by hand (the recipe's own changes are always applied)" },
    replace: { type: 'boolean', help: 'the VM exists: destroy it and the disks the tool made for it, and make it anew (disruptive)' },
    ...CONSENT,
    'detailed-exitcode': { type: 'boolean', help: 'exit 0 when the VM is as the recipe asks, 2 when it was made or changed (or would be, with --dry-run), 1 on any error' },
    wait: { type: 'string', multiple: true, arg: 'probe', help: 'after start, wait for the guest: ip, ip=CIDR, agent, vm-data:<key>[=<value>], tcp:<port> (repeatable)' },
    'wait-timeout': { type: 'string', arg: 's', help: 'limit for --wait (default 600); on timeout, a diagnosis' },
    verify: { type: 'boolean', help: 'after the upload, read the VDI back and compare it with the image segment by segment' },
    'skip-preflight': { type: 'boolean', help: 'upload without checking that the image can boot' },
    'fix-offset': { type: 'boolean', help: 'when partition a is not where pygrub looks, add the proposed --offset=<bytes> to PV-bootloader-args' },
    ...TIMEOUTS,
  },
  examples: [
    'provision freebsd-14 --host sim',
    "provision freebsd-9 --host sim          (the HOWTO's PV guest: simulates XCP-ng 8.2)",
    'provision freebsd-9 --host xcp1 --image ./FreeBSD-PV.img --name web-01',
    'provision freebsd-9 --host xcp1:443 --dry-run',
    'provision ./my-recipe.yaml --host https://10.0.0.5/ --json',
  ],
  exits: [],
}

const SIM: CommandSpec = {
  name: 'sim',
  summary: 'run the XAPI simulator until SIGINT/SIGTERM',
  usage: ['sim [--port N] [--listen ADDR] [--profile NAME]', 'sim --inventory FILE [--port N] [--state-file FILE]'],
  about: [
    'The first stdout line is "XAPI simulator listening on http://ADDR:PORT"; then the credentials it takes (user, and where the password came from) and its control API.',
    "Credentials: XAPI_USER (default root) and XAPI_PASSWORD (environment or ./.env), else the simulator's own root/xapi.",
  ],
  options: {
    port: { type: 'string', arg: 'N', help: 'the port to listen on (default 0: a free one)' },
    listen: { type: 'string', arg: 'addr', help: 'the address to listen on (default 127.0.0.1)' },
    profile: { type: 'string', arg: 'name', help: 'the release it simulates: xcp-ng-8.3 (default), xenserver-8, xcp-ng-8.2, xcp-1.1' },
    inventory: { type: 'string', arg: 'file', help: 'simulate the pools an inventory file describes (docs/simulator.md)' },
    'state-file': { type: 'string', arg: 'file', help: 'reload objects from the file if present; save them while running and on exit' },
  },
  examples: ['provision sim --port 8080 --listen 127.0.0.1', 'provision sim --inventory docs/examples/pool.yaml --state-file ./sim-state.json'],
  exits: [],
}

const CHECK_IMAGE: CommandSpec = {
  name: 'check-image',
  summary: 'predict whether an image boots with a recipe, and why',
  usage: ['check-image <file> [--recipe <recipe>] [--flavour upstream|xcp-ng|bios|uefi|both] [--firmware bios|uefi|both]'],
  about: ['<file> is a disk image: raw, qcow2, VHD or VMDK, optionally xz or gzip. PV recipes are checked against both pygrubs by default; HVM ones against their firmware.'],
  options: {
    recipe: { type: 'string', arg: 'recipe', help: 'the recipe whose boot settings are checked (default freebsd-9)' },
    flavour: { type: 'string', arg: 'which', help: 'PV: upstream, xcp-ng or both (default); HVM: bios, uefi or both' },
    firmware: { type: 'string', arg: 'fw', help: 'check as an HVM guest with this firmware (bios, uefi or both), whatever the recipe says' },
    ...JSON_OUT,
  },
  examples: ['provision check-image ./FreeBSD-PV.img --recipe freebsd-9', 'provision check-image ./disk.qcow2 --firmware uefi --json'],
  exits: [
    '0 bootable under every checked flavour or firmware',
    '1 not bootable (error.code image-not-bootable with --json)',
    '2 the file cannot be read (image-unreadable), or bad arguments',
    '3 the recipe is missing or invalid',
  ],
}

const ROLLOUT: CommandSpec = {
  name: 'rollout',
  summary: 'roll out a fleet: many VMs over pools, one upload per SR, converge on re-run',
  usage: ['rollout <fleet.yaml> [options]'],
  about: ["<fleet.yaml> describes pools, credentials variables, groups and VMs (docs/fleet.md). Boot settings (pv.bootloader_args, the --offset a preflight proposes) come from each group's recipe."],
  options: {
    ...JSON_OUT,
    ...DRY_RUN,
    concurrency: { type: 'string', arg: 'N', help: 'how many VMs are worked on at once (default from the fleet file)' },
    'fail-fast': { type: 'boolean', help: 'start no more VMs after the first failure' },
    wave: { type: 'string', arg: 'N', help: "make N VMs at a time: the next N only once these are ready (the group's wait); the first failed wave stops the rollout" },
    canary: { type: 'boolean', help: 'the first VM alone, ready, before the others (then --wave N at a time, or all)' },
    reconcile: { type: 'boolean', help: 'also revert drift made by hand on the pools (edits of the fleet file are always applied)' },
    replace: { type: 'boolean', help: 'destroy and make anew the VMs whose change cannot be made in place (a boot mode)' },
    ...CONSENT,
    'detailed-exitcode': { type: 'boolean', help: 'exit 0 when nothing changed (or would, with --dry-run), 2 when changes were made (or planned), 1 on any error' },
    'skip-preflight': { type: 'boolean', help: 'upload without checking that each image can boot' },
    ...TIMEOUTS,
  },
  examples: ['provision rollout recipes/fleet-web.yaml --dry-run', 'provision rollout fleet.yaml --concurrency 8 --json', 'provision rollout fleet.yaml --canary --wave 5'],
  exits: [
    '1 when any VM failed or was skipped (with --wave: the first failed wave; failed_wave in --json)',
    '2 the plan halts, reboots or replaces VMs and there is no terminal to ask on, without --yes (consent-required); nothing changed',
    'with --detailed-exitcode: 0 no changes, 2 changes present, 1 any error',
  ],
}

const CONVERT: CommandSpec = {
  name: 'convert',
  summary: 'switch a PV guest to HVM (BIOS), after checking its disk; --undo puts it back',
  usage: ['convert <vm> --host <host> [options]'],
  about: ['<vm> is the name-label or uuid of a halted PV VM. A snapshot of its disk is taken first (docs/convert.md).'],
  options: {
    ...CONNECTION,
    ...JSON_OUT,
    ...DRY_RUN,
    'install-bootcode': { type: 'boolean', help: 'write FreeBSD boot blocks when they are all that blocks an HVM boot' },
    undo: { type: 'boolean', help: 'put the VM back to its PV settings (and its disk, from the snapshot)' },
    'max-read': { type: 'string', arg: 'MiB', help: 'the most of the disk convert may read' },
    ...TIMEOUTS,
  },
  examples: ['provision convert FreeBSD-9.0 --host xcp1 --dry-run', 'provision convert FreeBSD-9.0 --host xcp1 --install-bootcode', 'provision convert FreeBSD-9.0 --host xcp1 --undo'],
  exits: ['1 refused: something inside the guest blocks an HVM boot (convert-refused); nothing was changed'],
}

const SAMPLE_IMAGE: CommandSpec = {
  name: 'sample-image',
  summary: 'write a small bootable FreeBSD-layout sample image (for check-image, a trial, tests)',
  usage: ['sample-image <out> [--layout pv|bios|uefi]'],
  about: [
    "<out> is the file to write (it must not exist). pv: the HOWTO's layout pygrub boots (MBR, bsdlabel, UFS1, /boot/kernel/kernel); bios and uefi: GPT with the boot code or an ESP, and a UFS2 root.",
    'The same from the library: writeSampleImage / writeSampleHvmImage from "xcp-provision".',
  ],
  options: {
    layout: { type: 'string', arg: 'layout', help: 'pv (default), bios or uefi' },
    force: { type: 'boolean', help: 'overwrite <out> if it exists' },
    ...JSON_OUT,
  },
  examples: ['provision sample-image ./sample.img', 'provision sample-image ./uefi.img --layout uefi && provision check-image ./uefi.img --recipe freebsd-14'],
  exits: [],
}

const HELP_CMD: CommandSpec = {
  name: 'help',
  summary: "print the overview, or a command's help",
  usage: ['help [<command>]'],
  about: [],
  options: {},
  examples: ['provision help rollout'],
  exits: [],
}

/** In the order --help lists them. Options common to all (COMMON) are added here. */
export const COMMANDS: readonly CommandSpec[] = [PROVISION, ROLLOUT, DESTROY, CHECK_IMAGE, CONVERT, SIM, SAMPLE_IMAGE, HELP_CMD].map((c) => ({ ...c, options: { ...c.options, ...COMMON } }))

export function commandNamed(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name))
}
