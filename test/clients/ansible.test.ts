import { expect } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { connectTo, withSimulator } from '../support/simulator.js'
import { needs } from '../support/oracles.js'
import { goldenTemplate, xenapiDir } from './support.js'
import { PoolSpec, type PoolSpecT } from '../../mocks/inventory-file.js'

const run = promisify(execFile)
const NET0 = 'Pool-wide network associated with eth0'
const NET1 = 'Pool-wide network associated with eth1'

/**
 * The playbook a user of community.general's xenserver modules writes, task by task:
 * create by full copy and by linked clone, reconfigure (CPUs, memory, a disk resized and
 * one added, a NIC added then moved to another network), every power state of
 * xenserver_guest_powerstate, the facts with the guest's DHCP address, and removal.
 * Each task asserts on what the module returned, so a silently wrong answer fails too.
 */
const PLAYBOOK = `
- hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    community.general.xenserver_guest: &xapi { hostname: "{{ xapi_url }}", username: root, password: simulator, validate_certs: false }
    community.general.xenserver_guest_powerstate: *xapi
    community.general.xenserver_guest_info: *xapi
  tasks:
    - name: create by copy, start and wait for the guest's address
      community.general.xenserver_guest:
        name: vm-copy
        template: golden
        state: poweredon
        hardware: { num_cpus: 2, memory_mb: 512 }
        disks: [{ size_mb: 128 }]
        networks: [{ name: "${NET0}" }]
        wait_for_ip_address: true
        state_change_timeout: 60
      register: copy
    - assert: { that: ["copy.changed", "copy.instance.state == 'poweredon'", "copy.instance.networks[0].ip is match('10\\\\.0\\\\.0\\\\.')", "copy.instance.hardware.num_cpus == 2"] }

    - name: create by linked clone, halted
      community.general.xenserver_guest: { name: vm-clone, template: golden, linked_clone: true, state: present }
      register: clone
    - assert: { that: ["clone.changed", "clone.instance.state == 'poweredoff'"] }

    - name: reconfigure CPUs, memory, resize the disk, add a disk and a NIC
      community.general.xenserver_guest:
        name: vm-clone
        hardware: { num_cpus: 4, memory_mb: 1024 }
        disks: [{ size_mb: 256 }, { size_mb: 64, name: data }]
        networks: [{ name: "${NET0}" }, { name: "${NET1}" }]
      register: reconf
    - assert:
        that:
          - reconf.changed
          - reconf.instance.hardware.num_cpus == 4
          - reconf.instance.hardware.memory_mb == 1024
          - reconf.instance.disks | length == 2
          - reconf.instance.disks[0].size == 268435456
          - reconf.instance.disks[1].name == 'data'
          - reconf.instance.networks | length == 2

    - name: change the first NIC's network and MAC
      community.general.xenserver_guest:
        name: vm-clone
        networks: [{ name: "${NET1}", mac: "02:00:00:aa:bb:cc" }, { name: "${NET1}" }]
      register: nic
    - assert: { that: ["nic.changed", "nic.instance.networks[0].name == '${NET1}'", "nic.instance.networks[0].mac == '02:00:00:aa:bb:cc'"] }

    - name: the same configuration again changes nothing
      community.general.xenserver_guest:
        name: vm-clone
        hardware: { num_cpus: 4, memory_mb: 1024 }
        networks: [{ name: "${NET1}", mac: "02:00:00:aa:bb:cc" }, { name: "${NET1}" }]
      register: again
    - assert: { that: ["not again.changed"] }

    - name: power on
      community.general.xenserver_guest_powerstate: { name: vm-clone, state: powered-on, wait_for_ip_address: true, state_change_timeout: 60 }
      register: started
    - assert: { that: ["started.changed", "started.instance.state == 'poweredon'", "started.instance.networks[1].ip != ''"] }
    - name: restart (hard reboot)
      community.general.xenserver_guest_powerstate: { name: vm-clone, state: restarted }
      register: restarted
    - assert: { that: ["restarted.changed", "restarted.instance.state == 'poweredon'"] }
    - name: reboot the guest (clean reboot through a task)
      community.general.xenserver_guest_powerstate: { name: vm-clone, state: reboot-guest, state_change_timeout: 30 }
      register: rebooted
    - assert: { that: ["rebooted.changed", "rebooted.instance.state == 'poweredon'"] }
    - name: suspend
      community.general.xenserver_guest_powerstate: { name: vm-clone, state: suspended }
      register: suspended
    - assert: { that: ["suspended.changed", "suspended.instance.state == 'suspended'"] }
    - name: resume
      community.general.xenserver_guest_powerstate: { name: vm-clone, state: powered-on }
      register: resumed
    - assert: { that: ["resumed.changed", "resumed.instance.state == 'poweredon'"] }
    - name: shut the guest down (clean shutdown through a task)
      community.general.xenserver_guest_powerstate: { name: vm-clone, state: shutdown-guest, state_change_timeout: 30 }
      register: down
    - assert: { that: ["down.changed", "down.instance.state == 'poweredoff'"] }
    - name: power on, then off
      community.general.xenserver_guest_powerstate: { name: vm-clone, state: powered-on }
    - community.general.xenserver_guest_powerstate: { name: vm-clone, state: powered-off }
      register: halted
    - assert: { that: ["halted.changed", "halted.instance.state == 'poweredoff'"] }

    - name: facts of the running copy
      community.general.xenserver_guest_info: { name: vm-copy }
      register: info
    - assert:
        that:
          - info.instance.state == 'poweredon'
          - info.instance.networks[0].ip == copy.instance.networks[0].ip
          - info.instance.disks[0].os_device == 'xvda'
          - info.instance.home_server == ''

    - name: remove both, the running one by force
      community.general.xenserver_guest: { name: "{{ item }}", state: absent, force: true }
      loop: [vm-copy, vm-clone]
      register: gone
    - assert: { that: ["gone.results | map(attribute='changed') | list == [true, true]"] }
`

const tools = needs('ansible-playbook', 'XenAPI.py')

tools.describe("Ansible's xenserver modules against the simulator", () => {
  tools.it(
    'runs the playbook green: copy, linked clone, reconfigure, every power state, facts, removal',
    async () => {
      const sim = await withSimulator({ pool: poolWithTwoNetworks(), guestBootMs: 100 })
      const x = await connectTo(sim)
      await goldenTemplate(sim, x, 'golden')
      const before = Object.keys(sim.objects().VDI ?? {}).length
      const dir = mkdtempSync(join(tmpdir(), 'xcp-ansible-'))
      try {
        writeFileSync(join(dir, 'play.yml'), PLAYBOOK)
        // The controller checks its workers' results every 1 ms by default (a setting only
        // ansible.cfg takes): ~2.4 s of CPU over this playbook's ~15 s, a quarter of the
        // file's. Ansible's own advice for automation where CPU matters is a longer interval.
        writeFileSync(join(dir, 'ansible.cfg'), '[defaults]\ninternal_poll_interval = 0.02\n')
        const env = {
          PATH: process.env.PATH ?? '',
          HOME: dir,
          PYTHONPATH: xenapiDir(),
          ANSIBLE_CONFIG: join(dir, 'ansible.cfg'),
          ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'),
          ANSIBLE_NOCOLOR: '1',
          ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
          ANSIBLE_LOCALHOST_WARNING: 'false',
          ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false',
        }
        const res = await run('ansible-playbook', ['-e', `xapi_url=${sim.url.replace(/\/$/, '')}`, join(dir, 'play.yml')], { env, timeout: 240_000, maxBuffer: 16 << 20 }).catch(
          (e: { stdout?: string; stderr?: string; code?: number }) => e,
        )
        const out = `${res.stdout ?? ''}\n${res.stderr ?? ''}`
        const recap = /localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/.exec(out)
        expect(recap, out).not.toBeNull()
        expect(Number(recap![4]), out).toBe(0)
        // Every task ran: 15 module calls and 14 assertions.
        expect(Number(recap![1]), out).toBe(29)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
      // Both VMs and every disk they had are gone; the template and its disk stay.
      const vms = Object.values(sim.objects().VM ?? {}).map((v) => v.name_label)
      expect(vms).not.toContain('vm-copy')
      expect(vms).not.toContain('vm-clone')
      expect(vms).toContain('golden')
      // Suspend images and the disks the playbook made were all removed.
      expect(Object.keys(sim.objects().VDI ?? {}).length).toBe(before)
    },
    300_000,
  )
})

function poolWithTwoNetworks(): PoolSpecT {
  return PoolSpec.parse({
    name: 'ansible pool',
    hosts: [{ name: 'xcp1', address: '127.0.0.1' }],
    networks: [
      { name: NET0, bridge: 'xenbr0', mtu: 1500, dhcp: { cidr: '10.0.0.0/24', first: '10.0.0.100', last: '10.0.0.199' } },
      { name: NET1, bridge: 'xenbr1', mtu: 1500, dhcp: { cidr: '10.0.1.0/24', first: '10.0.1.100', last: '10.0.1.199' } },
    ],
  })
}
