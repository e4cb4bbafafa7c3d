# Inputs that must be refused before anything is created, and edge values that must be accepted.
# A missing operator_cidr (no value at all) is checked by tests/infra/test_aws_module.py, because
# `terraform test` reports it as an error of the run rather than as an expected failure.

mock_provider "aws" {
  override_data {
    target = data.aws_ami.ubuntu
    values = { id = "ami-0123456789abcdef0" }
  }
  override_data {
    target = data.aws_availability_zones.available
    values = { names = ["eu-central-1a"] }
  }
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

# --- operator_cidr and target_cidr ------------------------------------------------------------

run "empty_operator_cidr_is_refused" {
  command = plan
  variables { operator_cidr = "" }
  expect_failures = [var.operator_cidr]
}

run "operator_cidr_of_the_whole_internet_is_refused" {
  command = plan
  variables { operator_cidr = "0.0.0.0/0" }
  expect_failures = [var.operator_cidr]
}

run "operator_cidr_of_any_prefix_length_0_is_refused" {
  command = plan
  variables { operator_cidr = "10.0.0.0/0" }
  expect_failures = [var.operator_cidr]
}

run "ipv6_operator_cidr_of_the_whole_internet_is_refused" {
  command = plan
  variables { operator_cidr = "::/0" }
  expect_failures = [var.operator_cidr]
}

run "operator_address_without_prefix_is_refused" {
  command = plan
  variables { operator_cidr = "203.0.113.7" }
  expect_failures = [var.operator_cidr]
}

run "operator_cidr_with_host_bits_is_refused" {
  command = plan
  variables { operator_cidr = "203.0.113.7/24" }
  expect_failures = [var.operator_cidr]
}

run "empty_target_cidr_is_refused" {
  command = plan
  variables { target_cidr = "" }
  expect_failures = [var.target_cidr]
}

run "target_cidr_of_the_whole_internet_is_refused" {
  command = plan
  variables { target_cidr = "0.0.0.0/0" }
  expect_failures = [var.target_cidr]
}

# --- sizes ------------------------------------------------------------------------------------

run "zero_workers_are_refused" {
  command = plan
  variables {
    worker_count = 0
    host_keys    = [{ private_key = "-----BEGIN OPENSSH PRIVATE KEY-----\nk\n-----END OPENSSH PRIVATE KEY-----\n", public_key = "ssh-ed25519 AAAAk" }]
  }
  expect_failures = [var.worker_count]
}

run "more_than_200_workers_are_refused" {
  command = plan
  variables { worker_count = 201 }
  expect_failures = [var.worker_count]
}

run "fractional_worker_count_is_refused" {
  command = plan
  variables { worker_count = 1.5 }
  expect_failures = [var.worker_count]
}

run "tiny_root_volume_is_refused" {
  command = plan
  variables { root_volume_gb = 4 }
  expect_failures = [var.root_volume_gb]
}

run "no_self_terminate_timer_is_refused" {
  command = plan
  variables { self_terminate_after_hours = 0 }
  expect_failures = [var.self_terminate_after_hours]
}

run "fractional_self_terminate_hours_are_refused" {
  command = plan
  variables { self_terminate_after_hours = 1.5 }
  expect_failures = [var.self_terminate_after_hours]
}

run "self_terminate_beyond_a_year_is_refused" {
  command = plan
  variables { self_terminate_after_hours = 8761 }
  expect_failures = [var.self_terminate_after_hours]
}

# --- host keys --------------------------------------------------------------------------------

run "too_few_host_keys_are_refused" {
  command = plan
  variables {
    worker_count = 3 # needs 4 host keys; 3 are given
  }
  expect_failures = [aws_instance.master]
}

run "too_many_host_keys_are_refused" {
  command = plan
  variables {
    worker_count = 1 # needs 2 host keys; 3 are given
  }
  expect_failures = [aws_instance.master]
}

run "non_ed25519_host_key_is_refused" {
  command = plan
  variables {
    host_keys = [for i in range(3) : {
      private_key = "-----BEGIN OPENSSH PRIVATE KEY-----\nfake-host-key-${i}\n-----END OPENSSH PRIVATE KEY-----\n"
      public_key  = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABFakeHostKey${i} host-${i}"
    }]
  }
  expect_failures = [var.host_keys]
}

run "host_key_without_private_key_is_refused" {
  command = plan
  variables {
    host_keys = [for i in range(3) : {
      private_key = ""
      public_key  = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeHostKey${i} host-${i}"
    }]
  }
  expect_failures = [var.host_keys]
}

run "shared_host_key_is_refused" {
  command = plan
  variables {
    host_keys = [for i in range(3) : {
      private_key = "-----BEGIN OPENSSH PRIVATE KEY-----\nsame\n-----END OPENSSH PRIVATE KEY-----\n"
      public_key  = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeSameKey host"
    }]
  }
  expect_failures = [var.host_keys]
}

# --- ports ------------------------------------------------------------------------------------

run "reversed_agent_port_range_is_refused" {
  command = plan
  variables { agent_port_range = { from = 10999, to = 10000 } }
  expect_failures = [var.agent_port_range]
}

run "privileged_agent_ports_are_refused" {
  command = plan
  variables { agent_port_range = { from = 80, to = 1100 } }
  expect_failures = [var.agent_port_range]
}

run "agent_ports_beyond_65535_are_refused" {
  command = plan
  variables { agent_port_range = { from = 65000, to = 70000 } }
  expect_failures = [var.agent_port_range]
}

run "agent_port_range_over_the_zeromq_port_is_refused" {
  command = plan
  variables { agent_port_range = { from = 5000, to = 5999 } } # would open 5557 to target_cidr
  expect_failures = [aws_instance.master]
}

# --- other inputs -----------------------------------------------------------------------------

run "ecdsa_operator_key_is_refused" {
  command = plan
  variables { ssh_public_key = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY= operator" } # EC2 imports ed25519 and RSA only
  expect_failures = [var.ssh_public_key]
}

run "bad_region_is_refused" {
  command = plan
  variables { region = "Frankfurt" }
  expect_failures = [var.region]
}

run "bad_name_prefix_is_refused" {
  command = plan
  variables { name_prefix = "Akrida_Test" }
  expect_failures = [var.name_prefix]
}

run "instance_type_without_size_is_refused" {
  command = plan
  variables { master_instance_type = "c7i" }
  expect_failures = [var.master_instance_type]
}

run "graviton_instance_type_is_refused" {
  command = plan
  variables { worker_instance_type = "c7g.2xlarge" } # arm64, but the image lookup is amd64
  expect_failures = [var.worker_instance_type]
}

run "non_lts_ubuntu_release_is_refused" {
  command = plan
  variables { ubuntu_release = "23.10" }
  expect_failures = [var.ubuntu_release]
}

run "malformed_ami_id_is_refused" {
  command = plan
  variables { ami_id = "ubuntu-24.04" }
  expect_failures = [var.ami_id]
}

run "root_ssh_user_is_refused" {
  command = plan
  variables { ssh_user = "root" }
  expect_failures = [var.ssh_user]
}

run "aws_reserved_tag_key_is_refused" {
  command = plan
  variables { tags = { "aws:cloudformation:stack-name" = "x" } }
  expect_failures = [var.tags]
}

# --- edge values that must pass ---------------------------------------------------------------

run "edge_values_are_accepted" {
  command = plan

  variables {
    region               = "us-gov-west-1"
    name_prefix          = "a"
    operator_cidr        = "203.0.113.0/24"
    target_cidr          = "10.0.0.0/8"
    ssh_public_key       = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== operator@example\n"
    worker_count         = 200
    worker_instance_type = "g4dn.xlarge" # x86 GPU family: the "g" is not Graviton's
    agent_port_range     = { from = 1024, to = 1024 }
    root_volume_gb       = 8
    host_keys = [for i in range(201) : {
      private_key = "-----BEGIN OPENSSH PRIVATE KEY-----\nfake-host-key-${i}\n-----END OPENSSH PRIVATE KEY-----"
      public_key  = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeHostKey${i}"
    }]
  }

  assert {
    condition     = length(aws_instance.worker) == 200
    error_message = "worker_count = 200 with 201 host keys must be accepted."
  }

  assert {
    condition     = endswith(yamldecode(aws_instance.master.user_data).ssh_keys.ed25519_private, "-----END OPENSSH PRIVATE KEY-----\n")
    error_message = "A private host key without a final newline must get one (OpenSSH refuses the file otherwise)."
  }
}
