#!/usr/bin/env python3
"""The calls of the vendor's published Python examples, against an emulator.

The vendor documents the User & Role Management API with short `requests`
scripts: list, get, create, update and delete users and roles (first with
`test_mode=true`, then for real), and list dashboards. This is our own script
making the same calls the same way (headers, JSON bodies, query strings), so
that the emulator is checked against how real users drive the real API.

Usage: PERISCOPE_URL=... PERISCOPE_SITE=... PERISCOPE_API_KEY=... vendor_examples.py
Prints one line per call and `N passed, N failed` at the end; exit 1 on failure.
"""
import json
import os
import sys

import requests

URL = os.environ["PERISCOPE_URL"]
SITE = os.environ["PERISCOPE_SITE"]
KEY = os.environ["PERISCOPE_API_KEY"]
HEADERS = {"HTTP-X-PARTNER-AUTH": SITE + ":" + KEY, "Content-Type": "application/json"}
ADMIN = os.environ.get("PERISCOPE_ADMIN", "admin@%s.example" % SITE)

passed = failed = 0


def check(label, response, status):
    global passed, failed
    ok = response.status_code == status
    print("%s %s -> %d" % ("ok  " if ok else "FAIL", label, response.status_code))
    if ok:
        passed += 1
    else:
        failed += 1
        print("     body: %s" % response.text[:300])
    return response


def body(response):
    data = response.json()
    # Tolerate a wrapped single object, as the client does.
    for kind in ("user", "role"):
        if isinstance(data, dict) and list(data) == [kind]:
            return data[kind]
    return data


# Roles: list, then create in test mode, create, get, update, (later) delete.
roles = check("list roles", requests.get(URL + "/api/v1/roles", headers=HEADERS), 200).json()["roles"]
by_name = {r["name"]: r["id"] for r in roles}
new_role = {
    "name": "Vendor Example Role",
    "description": "made by the vendor example",
    "created_by_email": ADMIN,
    "privileges": [{"object_type": "Dashboard", "permissions": ["read_dashboards", "download_pdf"]}],
    "permissions": [],
}
check("create role (test mode)", requests.post(URL + "/api/v1/roles?test_mode=true", headers=HEADERS, data=json.dumps(new_role)), 201)
after = requests.get(URL + "/api/v1/roles", headers=HEADERS).json()["roles"]
if len(after) != len(roles):
    failed += 1
    print("FAIL test mode created a role")
role = body(check("create role", requests.post(URL + "/api/v1/roles", headers=HEADERS, data=json.dumps(new_role)), 201))
check("get role", requests.get(URL + "/api/v1/roles/" + str(role["id"]), headers=HEADERS), 200)
update = {"updated_by_email": ADMIN, "description": "updated by the vendor example"}
check("update role (test mode)", requests.put(URL + "/api/v1/roles/%s?test_mode=true" % role["id"], headers=HEADERS, data=json.dumps(update)), 200)
check("update role", requests.put(URL + "/api/v1/roles/%s?test_mode=false" % role["id"], headers=HEADERS, data=json.dumps(update)), 200)

# Users: list, create in test mode, create, get, update, delete.
check("list users", requests.get(URL + "/api/v2/users", headers=HEADERS), 200)
new_user = {
    "first_name": "Vendor",
    "last_name": "Example",
    "email": "vendor.example@%s.example" % SITE,
    "roles": [role["id"], by_name["Read"]] if "Read" in by_name else [role["id"]],
    "invited_by_email": ADMIN,
}
check("create user (test mode)", requests.post(URL + "/api/v2/users?test_mode=true", headers=HEADERS, data=json.dumps(new_user)), 201)
user = body(check("create user", requests.post(URL + "/api/v2/users", headers=HEADERS, data=json.dumps(new_user)), 201))
check("create user again (conflict)", requests.post(URL + "/api/v2/users", headers=HEADERS, data=json.dumps(new_user)), 409)
check("get user", requests.get(URL + "/api/v2/users/" + str(user["id"]), headers=HEADERS), 200)
check("update user", requests.put(URL + "/api/v2/users/" + str(user["id"]), headers=HEADERS, data=json.dumps({"first_name": "Vendora"})), 200)
check("delete user (test mode)", requests.delete(URL + "/api/v2/users/%s?test_mode=true" % user["id"], headers=HEADERS), 204)
check("delete user", requests.delete(URL + "/api/v2/users/" + str(user["id"]), headers=HEADERS), 204)
check("get deleted user", requests.get(URL + "/api/v2/users/" + str(user["id"]), headers=HEADERS), 404)
check("delete role", requests.delete(URL + "/api/v1/roles/" + str(role["id"]), headers=HEADERS), 204)

# Dashboards: follow next_page_start to the end.
seen = 0
cursor = None
while True:
    params = {"next_page_start": cursor} if cursor else {}
    page = check("list dashboards page", requests.get(URL + "/api/v1/dashboards", headers=HEADERS, params=params), 200).json()
    seen += len(page["dashboards"])
    cursor = page.get("next_page_start")
    if not cursor:
        break
print("dashboards seen: %d" % seen)

# Wrong credentials.
bad = dict(HEADERS, **{"HTTP-X-PARTNER-AUTH": SITE + ":wrong"})
check("wrong key", requests.get(URL + "/api/v2/users", headers=bad), 401)

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
