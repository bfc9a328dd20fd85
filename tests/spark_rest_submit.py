"""Submit a PySpark application in cluster mode through a standalone master's REST server,
as a job would; prints the driver's submission id. Used by the Spark tests (a script they
copy next to their application, not a test module).

Usage: python3 spark_rest_submit.py REST_URL MASTER_URL PYTHON APP NAME [APP_ARGS...]
The driver gets this process's SPARK_LOCAL_IP when it is set (else the worker's).
"""

import json
import os
import sys
import urllib.request

rest, master, python, app, name = sys.argv[1:6]
env = {"PYSPARK_PYTHON": python}
if os.environ.get("SPARK_LOCAL_IP"):
    env["SPARK_LOCAL_IP"] = os.environ["SPARK_LOCAL_IP"]
body = {
    "action": "CreateSubmissionRequest", "clientSparkVersion": "4.0.0",
    "appResource": "file:" + app, "mainClass": "org.apache.spark.deploy.PythonRunner",
    "appArgs": [app, "", *sys.argv[6:]],
    "environmentVariables": env,
    "sparkProperties": {
        "spark.master": master, "spark.app.name": name, "spark.submit.deployMode": "cluster",
        "spark.driver.supervise": "false", "spark.driver.memory": "512m",
        "spark.driver.cores": "1", "spark.executor.memory": "512m", "spark.cores.max": "1",
        "spark.ui.enabled": "false"},
}
req = urllib.request.Request(rest + "/v1/submissions/create", data=json.dumps(body).encode(),
                             headers={"Content-Type": "application/json"})
answer = json.loads(urllib.request.urlopen(req, timeout=30).read())
assert answer.get("success"), answer
print(answer["submissionId"])
