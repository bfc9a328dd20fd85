"""The YARN the tests and bench/yarn.py run: a real Hadoop YARN 3.5.0 ResourceManager and
NodeManager on 127.0.0.61 (every port pinned in 18600-18699, nothing else on the machine uses
them), their configuration and state under one directory, and Spark (from the pyspark
package) submitting to it in cluster mode. The jars come from Maven Central through
tests/yarn/pom.xml (``make yarn-jars``)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

YARN_HOME = Path(os.environ.get("JOBWAITER_YARN_HOME")
                 or Path.home() / ".cache" / "jobwaiter-tests" / "yarn")
JARS = YARN_HOME / "lib"


HOST = "127.0.0.61"
WEB = 18688
PORTS = {  # everything YARN listens on, pinned: nothing else on the machine uses 18600-18699
    "yarn.resourcemanager.address": 18632,
    "yarn.resourcemanager.scheduler.address": 18630,
    "yarn.resourcemanager.resource-tracker.address": 18631,
    "yarn.resourcemanager.admin.address": 18633,
    "yarn.resourcemanager.webapp.address": WEB,
    "yarn.nodemanager.address": 18641,
    "yarn.nodemanager.localizer.address": 18640,
    "yarn.nodemanager.webapp.address": 18642,
    "yarn.nodemanager.collector-service.address": 18643,
    "yarn.timeline-service.webapp.address": 18644,
    "yarn.timeline-service.address": 18645,
    "yarn.sharedcache.admin.address": 18646,
    "yarn.sharedcache.webapp.address": 18647,
    "yarn.sharedcache.uploader.server.address": 18648,
    "yarn.sharedcache.client-server.address": 18649,
    "yarn.router.webapp.address": 18650,
    "yarn.nodemanager.amrmproxy.address": 18651,
}


def yarn_site(root: Path) -> dict[str, str]:
    """One yarn-site.xml for the daemons and spark-submit, for one node of 2 cores."""
    return {
        "yarn.resourcemanager.hostname": HOST,
        "yarn.nodemanager.hostname": HOST,
        **{k: f"{HOST}:{p}" for k, p in PORTS.items()},
        # Room for three applications of two 1 GB containers (AM + one executor) at once.
        "yarn.nodemanager.resource.memory-mb": "6144",
        "yarn.nodemanager.resource.cpu-vcores": "6",
        "yarn.scheduler.minimum-allocation-mb": "256",
        "yarn.scheduler.maximum-allocation-mb": "2048",
        # A JDK's virtual size trips the vmem check; Python workers can trip the pmem one.
        "yarn.nodemanager.vmem-check-enabled": "false",
        "yarn.nodemanager.pmem-check-enabled": "false",
        # A fuller disk than 90% would make the node UNHEALTHY and every application wait.
        "yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage":
            "100.0",
        "yarn.nodemanager.local-dirs": str(root / "nm-local"),
        "yarn.nodemanager.log-dirs": str(root / "nm-logs"),
        # Clients and AMs give up on a ResourceManager that is gone in 20 s, not 15 min.
        "yarn.resourcemanager.connect.max-wait.ms": "20000",
        "yarn.resourcemanager.connect.retry-interval.ms": "1000",
        "yarn.resourcemanager.am.max-attempts": "2",
        # The NodeManager's stop waits this long for its containers (default 5 s).
        "yarn.nodemanager.process-kill-wait.ms": "1000",
        # Without log aggregation a finished application's container logs are deleted by a
        # timer this long after its end (default 3 h); a stopping NodeManager waits up to
        # 10 s for pending ones.
        "yarn.nodemanager.log.retain-seconds": "5",
    }


def capacity_scheduler() -> dict[str, str]:
    """The Hadoop jars carry no capacity-scheduler.xml: one queue, and AMs may use it all
    (the default 10% would keep a second application ACCEPTED)."""
    q = "yarn.scheduler.capacity.root"
    return {
        f"{q}.queues": "default",
        f"{q}.default.capacity": "100",
        f"{q}.default.maximum-capacity": "100",
        f"{q}.default.user-limit-factor": "1",
        f"{q}.default.state": "RUNNING",
        f"{q}.default.acl_submit_applications": "*",
        f"{q}.default.acl_administer_queue": "*",
        f"{q}.default.maximum-am-resource-percent": "1.0",
        "yarn.scheduler.capacity.maximum-am-resource-percent": "1.0",
        "yarn.scheduler.capacity.node-locality-delay": "-1",
    }


def write_xml(path: Path, props: dict[str, str]) -> None:
    body = "".join(f"  <property><name>{k}</name><value>{v}</value></property>\n"
                   for k, v in props.items())
    path.write_text(f"<?xml version=\"1.0\"?>\n<configuration>\n{body}</configuration>\n")


LOG4J = """\
log4j.rootLogger=INFO,console
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.target=System.err
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n
"""

def java_home() -> str:
    java = shutil.which("java")
    assert java is not None
    return str(Path(os.path.realpath(java)).parent.parent)


def spark_home() -> str:
    import pyspark

    return os.path.dirname(pyspark.__file__)


def config_text(root: Path) -> str:
    return f"""\
cluster_name: yarn-test
provider: {{type: local}}
runtime:
  types: [yarn, spark]
  yarn:
    jars: {JARS}
    conf_dir: {root / "conf"}
    resource_manager: {HOST}:{WEB}
    java_home: {java_home()}
    heap: 512m
    settle_seconds: 3
    start_timeout: 150
  spark:
    cluster_manager: yarn
    resource_manager: {HOST}:{WEB}
    python: {sys.executable}
    settle_seconds: 3
"""


def spark_defaults(home: str) -> str:
    py = sys.executable
    return f"""\
spark.master                            yarn
spark.submit.deployMode                 cluster
spark.yarn.jars                         local:{home}/jars/*
spark.pyspark.python                    {py}
spark.pyspark.driver.python             {py}
spark.yarn.appMasterEnv.JAVA_HOME       {java_home()}
spark.executorEnv.JAVA_HOME             {java_home()}
spark.yarn.appMasterEnv.SPARK_LOCAL_IP  127.0.0.1
spark.executorEnv.SPARK_LOCAL_IP        127.0.0.1
spark.driver.memory                     512m
spark.executor.memory                   512m
spark.executor.instances                1
spark.executor.cores                    1
spark.ui.enabled                        false
spark.rpc.io.maxRetries                 10
spark.rpc.io.retryWait                  2s
"""



# The application the tests run in YARN cluster mode: its driver runs in a YARN container.
APP = r"""
import sys, time
mode = sys.argv[1] if len(sys.argv) > 1 else "ok"
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("sum", spark.sparkContext.parallelize(range(100), 2).map(lambda x: x * x).sum())
if mode in ("sleep", "marker"):
    time.sleep(float(sys.argv[2]))
spark.stop()
if mode == "marker":
    open(sys.argv[3], "w").write(repr(time.time()))
if mode == "exit":
    sys.exit(int(sys.argv[2]))
"""


def write_rig(root: Path, home: Path) -> tuple[Path, dict[str, str]]:
    """Write the Hadoop and Spark configuration under ``root`` and a cluster config and the
    app in ``home``; the config's path and the environment spark-submit needs."""
    conf = root / "conf"
    conf.mkdir()
    write_xml(conf / "core-site.xml", {"fs.defaultFS": "file:///",
                                       "hadoop.tmp.dir": str(root / "hadoop-tmp")})
    write_xml(conf / "yarn-site.xml", yarn_site(root))
    write_xml(conf / "capacity-scheduler.xml", capacity_scheduler())
    (conf / "log4j.properties").write_text(LOG4J)
    (root / "spark-conf").mkdir()
    (root / "spark-conf" / "spark-defaults.conf").write_text(spark_defaults(spark_home()))
    config = home / "yarn.yaml"
    config.write_text(config_text(root))
    (home / "app.py").write_text(APP)
    env = {"SPARK_HOME": spark_home(), "SPARK_CONF_DIR": str(root / "spark-conf"),
           "HADOOP_CONF_DIR": str(conf), "SPARK_LOCAL_IP": "127.0.0.1",
           "JAVA_HOME": java_home()}
    return config, env
