"""What the infrastructure half (``stacks/``, ``components/``) and the runtime half
(``handlers/``, ``backend/``, ``dr/``, ``local/``) must agree on, each fact written once
(R-SEAM-1).

Plain Python at the bottom of the import graph: no Pulumi, no boto3, nothing from this
repository. ``outputs`` names stack outputs, ``names`` the physical names of resources,
``functions`` the Lambda functions and their specs, ``environment`` each function's
environment schema (the component builds the variables from it, the handler parses them with
it), ``telemetry`` the metrics namespace and metric names that handlers publish and alarms
watch, ``region_switch`` the ARC Region switch plan's workflows and timeouts (declared by the
global stack, budgeted and watched by ``dr``).
"""
