"""Amazon States Language: definition model, data flow, engine, and the Step Functions service."""
