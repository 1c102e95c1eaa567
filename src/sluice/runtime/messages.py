"""The deploy-log lines BKData writes, in Chinese and English."""

from __future__ import annotations

from sluice.model.errors import Message

__all__ = [
    "CHECK_DONE",
    "CHECK_NODE",
    "CHECK_START",
    "DEPLOY_ERROR",
    "LOCK",
    "NODE_STATUS",
    "PHASE_DONE",
    "PHASE_START",
    "START_NODE",
    "STOP_NODE",
    "TIMEOUT",
    "UNLOCK",
]

_STARS = "*" * 20

LOCK = Message("锁定任务", "Lock task")
UNLOCK = Message("解锁任务", "Unlock task")
CHECK_START = Message(f"{_STARS}开始检查任务{_STARS}", f"{_STARS} Start checking the task {_STARS}")
CHECK_NODE = Message("检查{display_zh}节点({name})", "Check the {display_en} node ({name})")
CHECK_DONE = Message(
    f"{_STARS}检查任务成功{_STARS}", f"{_STARS} Successfully checked the task {_STARS}"
)
PHASE_START = {
    "start": Message(f"{_STARS}开始启动任务{_STARS}", f"{_STARS} Start starting the task {_STARS}"),
    "stop": Message(f"{_STARS}开始停止任务{_STARS}", f"{_STARS} Start stopping the task {_STARS}"),
}
PHASE_DONE = {
    "start": Message(
        f"{_STARS}启动任务成功{_STARS}", f"{_STARS} Successfully started the task {_STARS}"
    ),
    "stop": Message(
        f"{_STARS}停止任务成功{_STARS}", f"{_STARS} Successfully stopped the task {_STARS}"
    ),
}
START_NODE = Message("启动({name}){display_zh}节点", "Start ({name}){display_en} node")
STOP_NODE = Message("停止({name}){display_zh}节点", "Stop ({name}){display_en} node")
NODE_STATUS = Message("更新节点状态，状态={status}", "Update node status, status = {status}")
DEPLOY_ERROR = Message(
    "部署过程出现非预期异常，errors=({error_zh})",
    "Deployment process exception, errors=({error_en})",
)
TIMEOUT = Message("时间过长，强制中止部署流程", "The deployment took too long and was aborted")
