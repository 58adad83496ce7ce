"""Installs a VM from a template, as xapi's SDK example install.py does (written anew for
Python 3): pick the network of the PIF with the lowest device, clone the template, add a
VIF, point the template's provisioning spec at the pool's default SR, provision, start,
and wait for the guest to report its OS and its IP address."""
import sys, time
import xml.dom.minidom
import XenAPI

url, user, password, template_name = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
session = XenAPI.Session(url)
session.xenapi.login_with_password(user, password, "1.0", "xcp-provision-install")
try:
    x = session.xenapi
    pifs = x.PIF.get_all_records()
    lowest = min(pifs, key=lambda p: pifs[p]["device"])
    network = x.PIF.get_network(lowest)
    print("PIF", pifs[lowest]["device"], "network", x.network.get_name_label(network))
    templates = [ref for ref, rec in x.VM.get_all_records().items() if rec["is_a_template"] and rec["name_label"] == template_name]
    vm = x.VM.clone(templates[0], "new")
    x.VIF.create({"device": "1", "network": network, "VM": vm, "MAC": "", "MTU": "1500",
                  "qos_algorithm_type": "", "qos_algorithm_params": {}, "other_config": {}})
    x.VM.set_PV_args(vm, "non-interactive")
    pool = x.pool.get_all()[0]
    sr = x.SR.get_record(x.pool.get_default_SR(pool))
    other = x.VM.get_other_config(vm)
    spec = xml.dom.minidom.parseString(other["disks"])
    for disk in spec.getElementsByTagName("disk"):
        disk.setAttribute("sr", sr["uuid"])
    x.VM.remove_from_other_config(vm, "disks")
    x.VM.add_to_other_config(vm, "disks", spec.toxml())
    x.VM.provision(vm)
    x.VM.start(vm, False, True)

    def guest(field, key):
        gm = x.VM.get_guest_metrics(vm)
        if gm == "OpaqueRef:NULL":
            return None
        return x.VM_guest_metrics.get_record(gm)[field].get(key)

    deadline = time.time() + 30
    while guest("os_version", "name") is None or guest("networks", "0/ip") is None:
        if time.time() > deadline:
            raise SystemExit("the guest never reported")
        time.sleep(0.2)
    print("OS", guest("os_version", "name"), "IP", guest("networks", "0/ip"))
finally:
    session.xenapi.session.logout()
