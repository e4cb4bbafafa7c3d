provider "aws" {
  region = var.region
}

locals {
  vpc_cidr    = "10.42.0.0/16"
  subnet_cidr = "10.42.0.0/20"

  # Explicit tags rather than the provider's default_tags: they show in the plan, so the offline
  # tests can check that every resource carries them.
  tags = merge(var.tags, { "akrida:cluster" = var.name_prefix })

  ami_id = var.ami_id != "" ? var.ami_id : data.aws_ami.ubuntu[0].id

  # Index 0 is the master, 1..worker_count the workers. try() keeps a wrong-length list from
  # failing with an index error before the precondition on aws_instance.master can say what is wrong.
  user_data = [
    for index in range(var.worker_count + 1) : templatefile("${path.module}/cloud-init.yaml.tftpl", {
      # OpenSSH refuses a private key file whose last line has no newline.
      host_private_key = "${trimspace(try(var.host_keys[index].private_key, ""))}\n"
      host_public_key  = trimspace(try(var.host_keys[index].public_key, ""))
      ssh_user         = var.ssh_user
      ssh_public_key   = trimspace(var.ssh_public_key)
      shutdown_minutes = var.self_terminate_after_hours * 60
    })
  ]
}

################################################################################
# Image
################################################################################

data "aws_ami" "ubuntu" {
  count = var.ami_id == "" ? 1 : 0

  most_recent = true
  owners      = ["099720109477"] # Canonical

  filter {
    name   = "name"
    values = ["ubuntu/images/hvm-ssd*/ubuntu-*-${var.ubuntu_release}-amd64-server-*"]
  }

  filter {
    name   = "architecture"
    values = ["x86_64"]
  }

  filter {
    name   = "virtualization-type"
    values = ["hvm"]
  }
}

data "aws_availability_zones" "available" {
  state = "available"

  # Regular zones only: Local Zones and Wavelength Zones offer few instance types.
  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

################################################################################
# Network: a dedicated VPC with one public subnet
################################################################################

resource "aws_vpc" "this" {
  cidr_block           = local.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = merge(local.tags, { Name = var.name_prefix, "akrida:role" = "network" })
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(local.tags, { Name = var.name_prefix, "akrida:role" = "network" })
}

resource "aws_subnet" "public" {
  vpc_id            = aws_vpc.this.id
  cidr_block        = local.subnet_cidr
  availability_zone = data.aws_availability_zones.available.names[0]

  tags = merge(local.tags, { Name = "${var.name_prefix}-public", "akrida:role" = "network" })
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this.id
  }

  tags = merge(local.tags, { Name = "${var.name_prefix}-public", "akrida:role" = "network" })
}

resource "aws_route_table_association" "public" {
  subnet_id      = aws_subnet.public.id
  route_table_id = aws_route_table.public.id
}

################################################################################
# Firewall
#
# cluster: every VM. SSH from the operator, agent ports from the target, all egress.
# master:  the master only. ZeroMQ from members of `cluster`. No web UI port: a cluster run is
#          headless (the driver refuses UI=1 on a cluster), so nothing would listen there.
# Separate rule resources (no inline rules), so each rule is one plan entry the tests can check.
################################################################################

resource "aws_security_group" "cluster" {
  name        = "${var.name_prefix}-cluster"
  description = "Akrida cluster VMs: SSH from the operator, agent ports from the target"
  vpc_id      = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name_prefix}-cluster", "akrida:role" = "security" })
}

resource "aws_security_group_rule" "ssh" {
  security_group_id = aws_security_group.cluster.id
  description       = "SSH from the operator"
  type              = "ingress"
  protocol          = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_blocks       = [var.operator_cidr]
}

resource "aws_security_group_rule" "agents" {
  security_group_id = aws_security_group.cluster.id
  description       = "DIDComm endpoints of the holder agents from the system under test"
  type              = "ingress"
  protocol          = "tcp"
  from_port         = var.agent_port_range.from
  to_port           = var.agent_port_range.to
  cidr_blocks       = [var.target_cidr]
}

resource "aws_security_group_rule" "egress" {
  security_group_id = aws_security_group.cluster.id
  description       = "All outbound: the target, and package registries for online installs"
  type              = "egress"
  protocol          = "-1"
  from_port         = 0
  to_port           = 0
  cidr_blocks       = ["0.0.0.0/0"]
}

resource "aws_security_group" "master" {
  name        = "${var.name_prefix}-master"
  description = "Akrida Locust master: ZeroMQ from the cluster"
  vpc_id      = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name_prefix}-master", "akrida:role" = "security" })
}

# Nothing else reaches the master: not Locust's web UI (cluster runs are headless), nor the live
# metrics endpoint (PROMETHEUS_PORT), which the operator reaches through an SSH tunnel.
resource "aws_security_group_rule" "locust_zeromq" {
  security_group_id        = aws_security_group.master.id
  description              = "Locust master-worker ZeroMQ from the cluster VMs only"
  type                     = "ingress"
  protocol                 = "tcp"
  from_port                = var.locust_master_port
  to_port                  = var.locust_master_port
  source_security_group_id = aws_security_group.cluster.id
}

################################################################################
# Instances
################################################################################

resource "aws_key_pair" "operator" {
  key_name_prefix = "${var.name_prefix}-"
  public_key      = trimspace(var.ssh_public_key)

  tags = merge(local.tags, { Name = "${var.name_prefix}-operator", "akrida:role" = "access" })
}

# Stands for each VM's user data, so that a change of it (a new host key) replaces the VM: AWS
# provider 5+ would otherwise update user data in place, and cloud-init, which writes host keys
# once per instance, would keep the old key that known_hosts no longer lists.
resource "terraform_data" "master_user_data" {
  input = sha256(local.user_data[0])
}

resource "terraform_data" "worker_user_data" {
  count = var.worker_count

  input = sha256(local.user_data[count.index + 1])
}

resource "aws_instance" "master" {
  ami                         = local.ami_id
  instance_type               = var.master_instance_type
  subnet_id                   = aws_subnet.public.id
  associate_public_ip_address = true
  vpc_security_group_ids      = [aws_security_group.cluster.id, aws_security_group.master.id]
  key_name                    = aws_key_pair.operator.key_name
  user_data                   = local.user_data[0]

  # The self-terminate timer of the user data powers the VM off; this makes that a termination, so a
  # cluster whose Terraform state was lost stops being billed (self_terminate_after_hours).
  instance_initiated_shutdown_behavior = "terminate"

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required" # IMDSv2 only
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.root_volume_gb
    encrypted             = true
    delete_on_termination = true
  }

  volume_tags = merge(local.tags, { Name = "${var.name_prefix}-master", "akrida:role" = "master" })
  tags        = merge(local.tags, { Name = "${var.name_prefix}-master", "akrida:role" = "master" })

  lifecycle {
    replace_triggered_by = [terraform_data.master_user_data]

    precondition {
      condition     = length(var.host_keys) == var.worker_count + 1
      error_message = "host_keys must hold worker_count + 1 keys (index 0 for the master, then one per worker): worker_count is ${var.worker_count}, so give ${var.worker_count + 1} host keys."
    }

    precondition {
      condition     = var.locust_master_port < var.agent_port_range.from || var.locust_master_port > var.agent_port_range.to
      error_message = "agent_port_range (${var.agent_port_range.from}-${var.agent_port_range.to}) must not include locust_master_port (${var.locust_master_port}): the agent ports are open to target_cidr."
    }
  }

  depends_on = [aws_route_table_association.public]
}

resource "aws_instance" "worker" {
  count = var.worker_count

  ami                         = local.ami_id
  instance_type               = var.worker_instance_type
  subnet_id                   = aws_subnet.public.id
  associate_public_ip_address = true
  vpc_security_group_ids      = [aws_security_group.cluster.id]
  key_name                    = aws_key_pair.operator.key_name
  user_data                   = local.user_data[count.index + 1]

  # The self-terminate timer of the user data powers the VM off; this makes that a termination, so a
  # cluster whose Terraform state was lost stops being billed (self_terminate_after_hours).
  instance_initiated_shutdown_behavior = "terminate"

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required" # IMDSv2 only
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.root_volume_gb
    encrypted             = true
    delete_on_termination = true
  }

  volume_tags = merge(local.tags, { Name = "${var.name_prefix}-worker-${count.index + 1}", "akrida:role" = "worker" })
  tags        = merge(local.tags, { Name = "${var.name_prefix}-worker-${count.index + 1}", "akrida:role" = "worker" })

  lifecycle {
    replace_triggered_by = [terraform_data.worker_user_data[count.index]]
  }

  depends_on = [aws_route_table_association.public]
}
