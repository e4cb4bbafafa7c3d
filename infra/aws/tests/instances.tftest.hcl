# Instances, their cloud-init user data and the module's outputs, checked on the plan with a
# mocked AWS provider (no cloud).

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

# Known names and addresses at plan time, so that references and outputs can be checked.
override_resource {
  target          = aws_key_pair.operator
  override_during = plan
  values          = { key_name = "akrida-20250101000000000000000001" }
}
override_resource {
  target          = aws_instance.master
  override_during = plan
  values          = { public_ip = "192.0.2.10", private_ip = "10.42.0.10" }
}
override_resource {
  target          = aws_instance.worker
  override_during = plan
  values          = { public_ip = "192.0.2.20", private_ip = "10.42.0.20" }
}

variables {
  operator_cidr  = "203.0.113.7/32"
  target_cidr    = "198.51.100.0/24"
  ssh_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeOperatorKey operator@example\n"
  host_keys = [for i in range(3) : {
    private_key = "-----BEGIN OPENSSH PRIVATE KEY-----\nfake-host-key-${i}\n-----END OPENSSH PRIVATE KEY-----\n"
    public_key  = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeHostKey${i} host-${i}"
  }]
}

run "one_master_and_worker_count_workers_from_the_ubuntu_lookup" {
  command = plan

  assert {
    condition     = length(aws_instance.worker) == 2
    error_message = "The default worker_count must give 2 workers."
  }

  assert {
    condition = (
      aws_instance.master.instance_type == "c7i.large" &&
      alltrue([for worker in aws_instance.worker : worker.instance_type == "c7i.2xlarge"])
    )
    error_message = "Instance types must default to c7i.large (master) and c7i.2xlarge (workers)."
  }

  assert {
    condition = (
      length(data.aws_ami.ubuntu) == 1 && data.aws_ami.ubuntu[0].owners == tolist(["099720109477"]) &&
      data.aws_ami.ubuntu[0].most_recent &&
      contains(flatten([for f in data.aws_ami.ubuntu[0].filter : f.values if f.name == "name"]), "ubuntu/images/hvm-ssd*/ubuntu-*-24.04-amd64-server-*")
    )
    error_message = "Without ami_id, the newest Canonical Ubuntu 24.04 amd64 server image must be looked up."
  }

  assert {
    condition = alltrue([
      for instance in concat([aws_instance.master], aws_instance.worker) : instance.ami == "ami-0123456789abcdef0"
    ])
    error_message = "Every VM must boot the looked-up image."
  }

  assert {
    condition = alltrue([
      for instance in concat([aws_instance.master], aws_instance.worker) :
      instance.metadata_options[0].http_tokens == "required" &&
      instance.root_block_device[0].volume_size == 30 && instance.root_block_device[0].volume_type == "gp3" &&
      instance.root_block_device[0].encrypted
    ])
    error_message = "Every VM must require IMDSv2 and have an encrypted 30 GiB gp3 root volume."
  }

  assert {
    condition     = aws_key_pair.operator.public_key == "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeOperatorKey operator@example"
    error_message = "The key pair must hold ssh_public_key without its trailing newline."
  }

  assert {
    condition = alltrue([
      for instance in concat([aws_instance.master], aws_instance.worker) : instance.key_name == aws_key_pair.operator.key_name
    ])
    error_message = "Every VM must use the operator's key pair."
  }
}

run "worker_count_scales_the_workers" {
  command = plan

  variables {
    worker_count         = 5
    worker_instance_type = "m7i.4xlarge"
    root_volume_gb       = 100
    host_keys = [for i in range(6) : {
      private_key = "-----BEGIN OPENSSH PRIVATE KEY-----\nfake-host-key-${i}\n-----END OPENSSH PRIVATE KEY-----\n"
      public_key  = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeHostKey${i} host-${i}"
    }]
  }

  assert {
    condition = (
      length(aws_instance.worker) == 5 && length(output.worker_public_ips) == 5 && length(output.worker_private_ips) == 5 &&
      alltrue([for worker in aws_instance.worker : worker.instance_type == "m7i.4xlarge" && worker.root_block_device[0].volume_size == 100])
    )
    error_message = "worker_count = 5 must give 5 workers of worker_instance_type with root_volume_gb, and 5 addresses in each output."
  }

  assert {
    condition = alltrue([
      for index, worker in aws_instance.worker :
      yamldecode(worker.user_data).ssh_keys.ed25519_public == "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeHostKey${index + 1} host-${index + 1}"
    ])
    error_message = "Worker n (1-based) must get host_keys[n]."
  }
}

run "ami_id_skips_the_lookup" {
  command = plan

  variables {
    ami_id = "ami-0fedcba9876543210"
  }

  assert {
    condition = (
      length(data.aws_ami.ubuntu) == 0 &&
      alltrue([for instance in concat([aws_instance.master], aws_instance.worker) : instance.ami == "ami-0fedcba9876543210"])
    )
    error_message = "With ami_id set, no image may be looked up and every VM must boot ami_id."
  }
}

run "ubuntu_release_selects_the_image" {
  command = plan

  variables {
    ubuntu_release = "22.04"
  }

  assert {
    condition     = contains(flatten([for f in data.aws_ami.ubuntu[0].filter : f.values if f.name == "name"]), "ubuntu/images/hvm-ssd*/ubuntu-*-22.04-amd64-server-*")
    error_message = "ubuntu_release = 22.04 must look up 22.04 images."
  }
}

run "cloud_init_installs_the_given_host_keys_and_no_others" {
  command = plan

  assert {
    condition = (
      startswith(aws_instance.master.user_data, "#cloud-config\n") &&
      yamldecode(aws_instance.master.user_data).ssh_keys == {
        ed25519_private = "-----BEGIN OPENSSH PRIVATE KEY-----\nfake-host-key-0\n-----END OPENSSH PRIVATE KEY-----\n"
        ed25519_public  = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeHostKey0 host-0"
      }
    )
    error_message = "The master's cloud-config must install host_keys[0] as its ed25519 host key."
  }

  assert {
    condition = alltrue([
      for instance in concat([aws_instance.master], aws_instance.worker) :
      yamldecode(instance.user_data).ssh_deletekeys == true && yamldecode(instance.user_data).ssh_genkeytypes == [] &&
      yamldecode(instance.user_data).ssh_pwauth == false
    ])
    error_message = "Every VM's cloud-config must delete the image's host keys, generate none, and turn off password logins."
  }

  assert {
    condition = (
      yamldecode(aws_instance.worker[1].user_data).ssh_keys.ed25519_private == "-----BEGIN OPENSSH PRIVATE KEY-----\nfake-host-key-2\n-----END OPENSSH PRIVATE KEY-----\n" &&
      yamldecode(aws_instance.master.user_data).users == ["default"]
    )
    error_message = "The second worker must get host_keys[2]; with ssh_user = ubuntu only the image's default user exists."
  }
}

run "every_vm_terminates_itself_after_31_days_by_default" {
  command = plan

  assert {
    condition = alltrue([
      for instance in concat([aws_instance.master], aws_instance.worker) :
      instance.instance_initiated_shutdown_behavior == "terminate" &&
      yamldecode(instance.user_data).runcmd == [["shutdown", "-h", "+44640", "akrida: self-terminate timer (self_terminate_after_hours)"]]
    ])
    error_message = "Every VM must schedule its own shutdown 744 hours (44640 minutes) after boot, and a shutdown must terminate it, so a lost Terraform state leaves nothing billed."
  }
}

run "self_terminate_after_hours_sets_the_timer" {
  command = plan

  variables {
    self_terminate_after_hours = 2
  }

  assert {
    condition = alltrue([
      for instance in concat([aws_instance.master], aws_instance.worker) :
      yamldecode(instance.user_data).runcmd[0][2] == "+120"
    ])
    error_message = "self_terminate_after_hours = 2 must schedule the shutdown in 120 minutes on every VM."
  }
}

run "another_ssh_user_is_created_by_cloud_init" {
  command = plan

  variables {
    ssh_user = "loadtest"
  }

  assert {
    condition = alltrue([
      for instance in concat([aws_instance.master], aws_instance.worker) :
      length(yamldecode(instance.user_data).users) == 2 &&
      yamldecode(instance.user_data).users[1].name == "loadtest" &&
      yamldecode(instance.user_data).users[1].sudo == "ALL=(ALL) NOPASSWD:ALL" &&
      yamldecode(instance.user_data).users[1].ssh_authorized_keys == ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeOperatorKey operator@example"]
    ])
    error_message = "ssh_user = loadtest must be created on every VM with sudo and ssh_public_key."
  }

  assert {
    condition     = output.ssh_user == "loadtest"
    error_message = "The ssh_user output must follow the variable."
  }
}

run "outputs_have_the_shapes_the_driver_reads" {
  command = plan

  assert {
    condition     = output.master_public_ip == "192.0.2.10" && output.master_private_ip == "10.42.0.10"
    error_message = "master_public_ip and master_private_ip must be the master's addresses (strings)."
  }

  assert {
    condition = (
      output.worker_public_ips == ["192.0.2.20", "192.0.2.20"] && output.worker_private_ips == ["10.42.0.20", "10.42.0.20"] &&
      alltrue([for ip in concat(output.worker_public_ips, output.worker_private_ips) : can(cidrhost("${ip}/32", 0))])
    )
    error_message = "worker_public_ips and worker_private_ips must be lists of IPv4 address strings, one per worker."
  }

  assert {
    condition     = output.ssh_user == "ubuntu" && output.embedded_target_host == ""
    error_message = "ssh_user must default to ubuntu; embedded_target_host must be empty on AWS."
  }
}
