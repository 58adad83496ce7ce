"""Power-cycles every ordinary VM, as xapi's SDK example powercycle.py does (written anew
for Python 3 from its description): halt it if needed, then start, wait until suspend is
allowed, suspend, resume and shut down cleanly, a few times over."""
import sys, time
import XenAPI

url, user, password, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
session = XenAPI.Session(url)
session.xenapi.login_with_password(user, password, "1.0", "xcp-provision-powercycle")
try:
    x = session.xenapi
    vms = [(ref, rec) for ref, rec in x.VM.get_all_records().items() if not rec["is_a_template"] and not rec["is_control_domain"]]
    print("VMs:", len(vms))
    for vm, rec in vms:
        state = rec["power_state"]
        if state == "Suspended":
            x.VM.resume(vm, False, True)
            x.VM.clean_shutdown(vm)
        elif state == "Paused":
            x.VM.unpause(vm)
            x.VM.clean_shutdown(vm)
        elif state == "Running":
            x.VM.clean_shutdown(vm)
        for i in range(rounds):
            x.VM.start(vm, False, True)
            deadline = time.time() + 30
            while "suspend" not in x.VM.get_record(vm)["allowed_operations"]:
                if time.time() > deadline:
                    raise SystemExit("suspend never became allowed")
                time.sleep(0.2)
            x.VM.suspend(vm)
            x.VM.resume(vm, False, True)
            x.VM.clean_shutdown(vm)
            print("cycle", i + 1, x.VM.get_power_state(vm))
finally:
    session.xenapi.session.logout()
