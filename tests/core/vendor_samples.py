"""The sample response bodies of the vendor page (spec/face-group-api.zh.txt), copied verbatim.

Only the ``/* ... */`` comments after ``"code": 0,`` were removed, as they are not JSON.
"""

from __future__ import annotations

GROUP_GET_LIST = """
{
    "data": {
        "group_list": [
            {
                "group_id": "578968814328",
                "type": 1,
                "count": 0,
                "capacity": 1000,
                "last_modified_time": 0,
                "group_name": "stranger",
                "description": "",
                "customer_key1": "",
                "customer_key2": "",
                "customer_key3": "",
                "customer_key4": "",
                "customer_key5": ""
            },
            {
                "group_id": "578968814329",
                "type": 2,
                "count": 0,
                "capacity": 1000,
                "last_modified_time": 0,
                "group_name": "regular",
                "description": "",
                "customer_key1": "",
                "customer_key2": "",
                "customer_key3": "",
                "customer_key4": "",
                "customer_key5": ""
            },
            {
                "group_id": "578968814330",
                "type": 3,
                "count": 0,
                "capacity": 1000,
                "last_modified_time": 0,
                "group_name": "employee",
                "description": "",
                "customer_key1": "",
                "customer_key2": "",
                "customer_key3": "",
                "customer_key4": "",
                "customer_key5": ""
            },
            {
                "group_id": "578968817934",
                "type": 5,
                "count": 0,
                "capacity": 1000,
                "last_modified_time": 0,
                "group_name": "YiliuTest",
                "description": "",
                "customer_key1": "",
                "customer_key2": "",
                "customer_key3": "",
                "customer_key4": "",
                "customer_key5": ""
            }
        ]
    },
    "code": 0,
    "msg": "succeed"
}
"""

GROUP_GET_INFO = """
{
    "data": {
        "group_id": "578968814328",
        "type": 1,
        "count": 0,
        "capacity": 1000,
        "last_modified_time": 0,
        "group_name": "stranger",
        "description": "",
        "customer_key1": "",
        "customer_key2": "",
        "customer_key3": "",
        "customer_key4": "",
        "customer_key5": ""
    },
    "code": 0,
    "msg": "succeed"
}
"""

EMPTY_DATA = """
{
    "code": 0,
    "msg": "succeed",
    "data": {}
}
"""

GROUP_GET_FACE_LIST = """
{
    "data": {
        "face_list": [
            {
                "face_id": "578968751459",
                "group_id": "578968813726",
                "group_name": "",
                "gender": 1,
                "age_range": 6,
                "arrival_count": 0,
                "create_time": 1579591542,
                "last_arrival_time": 0,
                "name": "lll",
                "customer_key1": "",
                "customer_key2": "",
                "customer_key3": "",
                "customer_key4": "",
                "customer_key5": ""
            }
        ],
        "total_num": 1
    },
    "code": 0,
    "msg": "succeed"
}
"""

FACE_GET_INFO = """
{
    "data": {
        "age_range": 6,
        "arrival_count": 0,
        "create_time": 1579591542,
        "face_id": "578968751459",
        "gender": 1,
        "group_id": "578968813726",
        "group_name": "stranger",
        "last_arrival_time": 0,
        "name": "lll"
    },
    "code": 0,
    "msg": "succeed"
}
"""

FACE_ADD = """
{
    "code": 0,
    "msg": "succeed",
    "data": {
        "face_id": "578968740430"
    }
}
"""

#: Endpoints whose sample reply is ``EMPTY_DATA``.
EMPTY_DATA_ENDPOINTS = (
    "/face/group/create",
    "/face/group/update",
    "/face/group/delete",
    "/face/update",
    "/face/delete",
    "/face/group/move",
    "/face/group/updateMoveStrategy",
)
