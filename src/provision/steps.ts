import type { XapiConnection } from '../xapi/connection.js'
import * as VDI from '../xapi/vdi.js'
import * as VM from '../xapi/vm.js'
import * as VIF from '../xapi/vif.js'
import * as VBD from '../xapi/vbd.js'
import type { Recipe } from '../recipe/schema.js'
import { importRawVdi, type UploadProgress, type UploadResult } from '../upload/import-raw-vdi.js'
import type { DataMap } from '../upload/data-map.js'
import type { Targets } from './lookup.js'

/** What the run has created or learnt so far; rollback reads `created`. */
export interface RunState {
  created: { cls: 'VDI' | 'VM' | 'VIF' | 'VBD'; ref: string; label: string }[]
  vdi?: string
  vm?: string
  upload?: UploadResult
}

export interface StepContext {
  x: XapiConnection
  recipe: Recipe
  vmName: string
  image: string
  map: DataMap
  targets: Targets
  state: RunState
  allowUnauthorized: boolean
  onUpload: (p: UploadProgress) => void
}

export type PlanInput = Pick<StepContext, 'recipe' | 'vmName' | 'image' | 'map' | 'targets'>

export interface Step {
  id: string
  title: string
  /** The XAPI calls this step makes, for --dry-run; never contains secrets. */
  calls(c: PlanInput): string[]
  run(c: StepContext): Promise<void>
}

const need = (v: string | undefined, what: string): string => {
  if (!v) throw new Error(`internal: ${what} is not known yet`)
  return v
}

export const vdiName = (recipe: Recipe, vmName: string): string => recipe.vdi.name_label.replaceAll('{name}', vmName)

/** The HOWTO's sequence, one step per thing a person would check. */
export const STEPS: Step[] = [
  {
    id: 'vdi.create',
    title: 'Create the VDI',
    calls: (c) => [`VDI.create {name_label: "${vdiName(c.recipe, c.vmName)}", SR: ${c.targets.sr.record.uuid}, virtual_size: ${c.recipe.vdi.virtual_size}, type: ${c.recipe.vdi.type}}`],
    async run(c) {
      const ref = await VDI.create(c.x, {
        name_label: vdiName(c.recipe, c.vmName),
        name_description: `Boot disk of ${c.vmName}, created by xcp-provision`,
        SR: c.targets.sr.ref,
        virtual_size: c.recipe.vdi.virtual_size,
        type: c.recipe.vdi.type,
        sharable: false,
        read_only: false,
        other_config: { 'xcp-provision:vm': c.vmName },
      })
      c.state.vdi = ref
      c.state.created.push({ cls: 'VDI', ref, label: vdiName(c.recipe, c.vmName) })
    },
  },
  {
    id: 'upload',
    title: 'Upload the image',
    calls: (c) => [
      'task.create',
      `PUT /import_raw_vdi?format=raw&chunked (${c.map.regions.length} data regions, ${c.map.dataBytes} of ${c.map.size} bytes)`,
      'task.destroy',
    ],
    async run(c) {
      c.state.upload = await importRawVdi(c.x, {
        vdi: need(c.state.vdi, 'the VDI'),
        image: c.image,
        map: c.map,
        allowUnauthorized: c.allowUnauthorized,
        onProgress: c.onUpload,
      })
    },
  },
  {
    id: 'vm.install',
    title: `Install the VM from its template`,
    calls: (c) => [
      `Async.VM.clone (template "${c.recipe.template}", "${c.vmName}")`,
      'VM.get_other_config',
      'VM.remove_from_other_config disks (if present)',
      'Async.VM.provision',
      'VM.set_name_description',
    ],
    async run(c) {
      const ref = await VM.clone(c.x, c.targets.template, c.vmName)
      c.state.vm = ref
      c.state.created.push({ cls: 'VM', ref, label: c.vmName })
      // Disks come from our own VDI, not from the template's provisioning XML.
      if ('disks' in (await VM.get_other_config(c.x, ref))) await VM.remove_from_other_config(c.x, ref, 'disks')
      await VM.provision(c.x, ref)
      await VM.set_name_description(c.x, ref, c.recipe.description)
    },
  },
  {
    id: 'vm.pv',
    title: 'Make it a PV guest booted by pygrub',
    calls: (c) => [
      'VM.set_HVM_boot_policy ""',
      'VM.set_HVM_boot_params {}',
      `VM.set_PV_bootloader "${c.recipe.pv.bootloader}"`,
      `VM.set_PV_bootloader_args "${c.recipe.pv.bootloader_args}"`,
      `VM.set_PV_args "${c.recipe.pv.args}"`,
    ],
    async run(c) {
      const vm = need(c.state.vm, 'the VM')
      await VM.set_HVM_boot_policy(c.x, vm, '')
      await VM.set_HVM_boot_params(c.x, vm, {})
      await VM.set_PV_bootloader(c.x, vm, c.recipe.pv.bootloader)
      await VM.set_PV_bootloader_args(c.x, vm, c.recipe.pv.bootloader_args)
      await VM.set_PV_args(c.x, vm, c.recipe.pv.args)
    },
  },
  {
    id: 'vm.other-config',
    title: 'Set other-config keys',
    calls: (c) => ['VM.get_other_config', ...Object.keys(c.recipe.other_config).flatMap((k) => [`VM.remove_from_other_config ${k} (if present)`, `VM.add_to_other_config ${k}`])],
    async run(c) {
      const vm = need(c.state.vm, 'the VM')
      const current = await VM.get_other_config(c.x, vm)
      // add_to_* fails with MAP_DUPLICATE_KEY on an existing key, even with the same value.
      for (const [k, v] of Object.entries(c.recipe.other_config)) {
        if (k in current) await VM.remove_from_other_config(c.x, vm, k)
        await VM.add_to_other_config(c.x, vm, k, v)
      }
    },
  },
  {
    id: 'vm.memory',
    title: 'Set memory limits',
    calls: (c) => {
      const m = c.recipe.memory
      return [`VM.set_memory_limits ${m.static_min} ${m.static_max} ${m.dynamic_min} ${m.dynamic_max}`]
    },
    async run(c) {
      const m = c.recipe.memory
      await VM.set_memory_limits(c.x, need(c.state.vm, 'the VM'), m.static_min, m.static_max, m.dynamic_min, m.dynamic_max)
    },
  },
  {
    id: 'vm.vcpus',
    title: 'Set VCPUs',
    calls: (c) => ['VM.get_record', `VM.set_VCPUs_max / VM.set_VCPUs_at_startup ${c.recipe.vcpus} (max first when growing)`],
    async run(c) {
      const vm = need(c.state.vm, 'the VM')
      const rec = await VM.get_record(c.x, vm)
      const n = c.recipe.vcpus
      // XAPI keeps 0 < at_startup <= max at every step: grow max first, shrink at_startup first.
      if (n >= Number(rec.VCPUs_max)) {
        await VM.set_VCPUs_max(c.x, vm, n)
        await VM.set_VCPUs_at_startup(c.x, vm, n)
      } else {
        await VM.set_VCPUs_at_startup(c.x, vm, n)
        await VM.set_VCPUs_max(c.x, vm, n)
      }
    },
  },
  {
    id: 'vif.create',
    title: 'Add the network interface',
    calls: (c) => [`VIF.create {device: "${c.recipe.network.device}", network: ${c.targets.network.record.bridge}, MAC: ${c.targets.mac}, MTU: ${c.targets.network.record.MTU}}`],
    async run(c) {
      const ref = await VIF.create(c.x, {
        VM: need(c.state.vm, 'the VM'),
        network: c.targets.network.ref,
        device: c.recipe.network.device,
        MAC: c.targets.mac,
        MTU: c.targets.network.record.MTU,
      })
      c.state.created.push({ cls: 'VIF', ref, label: `${c.targets.mac} on ${c.targets.network.record.bridge}` })
    },
  },
  {
    id: 'vbd.create',
    title: 'Attach the disk',
    calls: (c) => [`VBD.create {userdevice: "${c.recipe.disk.device}", bootable: ${c.recipe.disk.bootable}, mode: ${c.recipe.disk.mode}, type: ${c.recipe.disk.type}}`],
    async run(c) {
      const ref = await VBD.create(c.x, {
        VM: need(c.state.vm, 'the VM'),
        VDI: need(c.state.vdi, 'the VDI'),
        userdevice: c.recipe.disk.device,
        bootable: c.recipe.disk.bootable,
        mode: c.recipe.disk.mode,
        type: c.recipe.disk.type,
      })
      c.state.created.push({ cls: 'VBD', ref, label: `userdevice ${c.recipe.disk.device}` })
    },
  },
  {
    id: 'vm.start',
    title: 'Start the VM',
    calls: (c) => (c.recipe.start ? ['Async.VM.start (start_paused=false, force=false)'] : []),
    async run(c) {
      if (c.recipe.start) await VM.start(c.x, need(c.state.vm, 'the VM'))
    },
  },
]
