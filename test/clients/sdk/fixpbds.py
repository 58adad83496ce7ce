"""Rewrites the device_config of every PBD of an SR, as xapi's SDK example fixpbds.py does
(written anew for Python 3): unplug them all, then destroy, recreate with the changed
device_config and plug each one."""
import sys
import XenAPI

url, user, password, sr_uuid = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
mapping = {"serverpath": "/export/moved"}
session = XenAPI.Session(url)
session.xenapi.login_with_password(user, password, "1.0", "xcp-provision-fixpbds")
try:
    x = session.xenapi
    sr = x.SR.get_by_uuid(sr_uuid)
    pbds = x.SR.get_PBDs(sr)
    for pbd in pbds:
        x.PBD.unplug(pbd)
    for pbd in pbds:
        rec = x.PBD.get_record(pbd)
        config = dict(rec["device_config"])
        config.update(mapping)
        x.PBD.destroy(pbd)
        new = x.PBD.create({"host": rec["host"], "SR": rec["SR"], "device_config": config})
        x.PBD.plug(new)
        print("host", x.host.get_name_label(rec["host"]), config["serverpath"], x.PBD.get_currently_attached(new))
finally:
    session.xenapi.session.logout()
