# Firewall and network of the cluster, checked on the plan with a mocked AWS provider (no cloud).
# What a user relies on: SSH reaches the cluster from operator_cidr only, the agent ports from
# target_cidr only, and Locust's ZeroMQ port from the cluster's own VMs only. No web UI port is
# open: a cluster run is headless.

mock_provider "aws" {
  override_data {
    target = data.aws_ami.ubuntu
    values = { id = "ami-0123456789abcdef0" }
  }
  override_data {
    target = data.aws_availability_zones.available
    values = { names = ["eu-central-1a", "eu-central-1b", "eu-central-1c"] }
  }
}

# Known ids at plan time, so that rules can be traced to the groups they belong to.
override_resource {
  target          = aws_vpc.this
  override_during = plan
  values          = { id = "vpc-0e0e0e0e0e0e0e0e0" }
}
override_resource {
  target          = aws_internet_gateway.this
  override_during = plan
  values          = { id = "igw-0e0e0e0e0e0e0e0e0" }
}
override_resource {
  target          = aws_subnet.public
  override_during = plan
  values          = { id = "subnet-0e0e0e0e0e0e0e0e" }
}
override_resource {
  target          = aws_route_table.public
  override_during = plan
  values          = { id = "rtb-0e0e0e0e0e0e0e0e0" }
}
override_resource {
  target          = aws_security_group.cluster
  override_during = plan
  values          = { id = "sg-0c1c1c1c1c1c1c1c1" }
}
override_resource {
  target          = aws_security_group.master
  override_during = plan
  values          = { id = "sg-0a5a5a5a5a5a5a5a5" }
}

variables {
  operator_cidr  = "203.0.113.7/32"
  target_cidr    = "198.51.100.0/24"
  ssh_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeOperatorKey operator@example"
  host_keys = [for i in range(3) : {
    private_key = "-----BEGIN OPENSSH PRIVATE KEY-----\nfake-host-key-${i}\n-----END OPENSSH PRIVATE KEY-----\n"
    public_key  = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeHostKey${i} host-${i}"
  }]
}

run "ssh_only_from_operator_cidr" {
  command = plan

  assert {
    condition = (
      aws_security_group_rule.ssh.type == "ingress" && aws_security_group_rule.ssh.protocol == "tcp" &&
      aws_security_group_rule.ssh.from_port == 22 && aws_security_group_rule.ssh.to_port == 22 &&
      aws_security_group_rule.ssh.cidr_blocks == tolist(["203.0.113.7/32"]) &&
      aws_security_group_rule.ssh.security_group_id == aws_security_group.cluster.id
    )
    error_message = "SSH (22/tcp) must be open on every VM (cluster group) to operator_cidr only."
  }
}

run "zeromq_only_from_the_cluster_group" {
  command = plan

  assert {
    condition = (
      aws_security_group_rule.locust_zeromq.type == "ingress" && aws_security_group_rule.locust_zeromq.protocol == "tcp" &&
      aws_security_group_rule.locust_zeromq.from_port == 5557 && aws_security_group_rule.locust_zeromq.to_port == 5557 &&
      aws_security_group_rule.locust_zeromq.security_group_id == aws_security_group.master.id &&
      aws_security_group_rule.locust_zeromq.source_security_group_id == aws_security_group.cluster.id
    )
    error_message = "Locust's ZeroMQ port (5557/tcp) must be open on the master to members of the cluster group."
  }

  assert {
    condition = (
      length(coalesce(aws_security_group_rule.locust_zeromq.cidr_blocks, [])) == 0 &&
      length(coalesce(aws_security_group_rule.locust_zeromq.ipv6_cidr_blocks, [])) == 0
    )
    error_message = "Locust's ZeroMQ port must not be open to any CIDR (neither the operator nor the internet)."
  }

  assert {
    condition     = toset(aws_instance.master.vpc_security_group_ids) == toset(["sg-0c1c1c1c1c1c1c1c1", "sg-0a5a5a5a5a5a5a5a5"])
    error_message = "The master must be in the cluster group (so workers can reach it) and the master group."
  }

  assert {
    condition     = alltrue([for worker in aws_instance.worker : toset(worker.vpc_security_group_ids) == toset(["sg-0c1c1c1c1c1c1c1c1"])])
    error_message = "Workers must be in the cluster group only: the ZeroMQ rule is for the master."
  }
}

run "agent_ports_only_from_target_cidr" {
  command = plan

  assert {
    condition = (
      aws_security_group_rule.agents.type == "ingress" && aws_security_group_rule.agents.protocol == "tcp" &&
      aws_security_group_rule.agents.from_port == 10000 && aws_security_group_rule.agents.to_port == 10999 &&
      aws_security_group_rule.agents.cidr_blocks == tolist(["198.51.100.0/24"]) &&
      aws_security_group_rule.agents.security_group_id == aws_security_group.cluster.id
    )
    error_message = "The agent port range 10000-10999/tcp must be open on every VM to target_cidr only."
  }
}

run "nothing_but_egress_is_open_to_the_internet" {
  command = plan

  assert {
    condition = alltrue([
      for rule in [aws_security_group_rule.ssh, aws_security_group_rule.agents, aws_security_group_rule.locust_zeromq] :
      rule.type == "ingress" && !contains(coalesce(rule.cidr_blocks, []), "0.0.0.0/0") && length(coalesce(rule.ipv6_cidr_blocks, [])) == 0
    ])
    error_message = "No ingress rule may admit 0.0.0.0/0 or any IPv6 range."
  }

  assert {
    condition = (
      aws_security_group_rule.egress.type == "egress" && aws_security_group_rule.egress.protocol == "-1" &&
      aws_security_group_rule.egress.cidr_blocks == tolist(["0.0.0.0/0"]) &&
      aws_security_group_rule.egress.security_group_id == aws_security_group.cluster.id
    )
    error_message = "Every VM must be allowed all egress (to reach the target and package registries)."
  }
}

run "ports_follow_the_variables" {
  command = plan

  variables {
    operator_cidr      = "192.0.2.0/24"
    target_cidr        = "198.51.100.20/32"
    locust_master_port = 6000
    agent_port_range   = { from = 20000, to = 20099 }
  }

  assert {
    condition     = aws_security_group_rule.ssh.cidr_blocks == tolist(["192.0.2.0/24"])
    error_message = "The SSH rule must use operator_cidr."
  }

  assert {
    condition     = aws_security_group_rule.locust_zeromq.from_port == 6000 && aws_security_group_rule.locust_zeromq.to_port == 6000
    error_message = "The ZeroMQ rule must use locust_master_port."
  }

  assert {
    condition = (
      aws_security_group_rule.agents.from_port == 20000 && aws_security_group_rule.agents.to_port == 20099 &&
      aws_security_group_rule.agents.cidr_blocks == tolist(["198.51.100.20/32"])
    )
    error_message = "The agent rule must use agent_port_range and target_cidr."
  }
}

run "dedicated_vpc_with_one_public_subnet" {
  command = plan

  assert {
    condition     = aws_vpc.this.cidr_block == "10.42.0.0/16" && aws_vpc.this.enable_dns_hostnames
    error_message = "The cluster must get its own VPC (10.42.0.0/16, DNS host names on)."
  }

  assert {
    condition = (
      aws_subnet.public.vpc_id == aws_vpc.this.id && aws_subnet.public.cidr_block == "10.42.0.0/20" &&
      aws_subnet.public.availability_zone == "eu-central-1a"
    )
    error_message = "The subnet must be in the VPC, in the first available zone."
  }

  assert {
    condition = (
      aws_internet_gateway.this.vpc_id == aws_vpc.this.id && aws_route_table.public.vpc_id == aws_vpc.this.id &&
      length([for route in aws_route_table.public.route : route if route.cidr_block == "0.0.0.0/0" && route.gateway_id == aws_internet_gateway.this.id]) == 1
    )
    error_message = "The route table must send 0.0.0.0/0 to the VPC's internet gateway."
  }

  assert {
    condition     = aws_route_table_association.public.subnet_id == aws_subnet.public.id && aws_route_table_association.public.route_table_id == aws_route_table.public.id
    error_message = "The subnet must use the public route table."
  }

  assert {
    condition = alltrue([
      for instance in concat([aws_instance.master], aws_instance.worker) :
      instance.subnet_id == aws_subnet.public.id && instance.associate_public_ip_address
    ])
    error_message = "Every VM must be in the public subnet with a public address."
  }
}

run "every_resource_is_tagged" {
  command = plan

  variables {
    name_prefix = "lt-eu"
    tags        = { Project = "load-test", Name = "ignored" }
  }

  # Every resource type in main.tf that takes tags is listed here; tests/infra/test_aws_module.py
  # fails when main.tf gains one that is not.
  assert {
    condition = alltrue([
      for tags in concat(
        [
          aws_vpc.this.tags, aws_internet_gateway.this.tags, aws_subnet.public.tags, aws_route_table.public.tags,
          aws_security_group.cluster.tags, aws_security_group.master.tags, aws_key_pair.operator.tags,
          aws_instance.master.tags, aws_instance.master.volume_tags,
        ],
        [for worker in aws_instance.worker : worker.tags],
        [for worker in aws_instance.worker : worker.volume_tags],
      ) :
      tags["Project"] == "load-test" && tags["akrida:cluster"] == "lt-eu" && startswith(tags["Name"], "lt-eu") &&
      contains(["network", "security", "access", "master", "worker"], tags["akrida:role"])
    ])
    error_message = "Every resource must carry the user's tags, akrida:cluster, akrida:role and a Name under name_prefix."
  }

  assert {
    condition = (
      aws_instance.master.tags["Name"] == "lt-eu-master" && aws_instance.master.tags["akrida:role"] == "master" &&
      [for worker in aws_instance.worker : worker.tags["Name"]] == ["lt-eu-worker-1", "lt-eu-worker-2"] &&
      alltrue([for worker in aws_instance.worker : worker.tags["akrida:role"] == "worker"])
    )
    error_message = "Instances must be named <prefix>-master and <prefix>-worker-<n> and tagged with their akrida:role."
  }

  assert {
    condition = (
      aws_security_group.cluster.name == "lt-eu-cluster" && aws_security_group.master.name == "lt-eu-master" &&
      aws_key_pair.operator.key_name_prefix == "lt-eu-"
    )
    error_message = "Security groups and the key pair must be named under name_prefix."
  }
}
