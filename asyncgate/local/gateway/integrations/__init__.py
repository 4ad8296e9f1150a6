"""Integration back ends: AWS service actions (through the runtime's AwsCaller), MOCK and HTTP."""
